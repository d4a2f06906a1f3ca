"""Model resolution and the verified download, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import http.server
import io
import socket
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from voicebot.speech.model_files import (
    ENV_MODEL_PATH,
    Manifest,
    ManifestModel,
    ModelDownloadError,
    ModelNotFound,
    download_model,
    inspect_model,
    load_manifest,
    resolve_model,
)

MODEL_NAME = "vosk-model-tiny-xx-0.1"


def _model_zip(name: str = MODEL_NAME, extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(f"{name}/am/final.mdl", b"acoustic model bytes" * 100)
        zf.writestr(f"{name}/conf/model.conf", b"--beam=10.0\n")
        zf.writestr(f"{name}/graph/HCLr.fst", b"hcl")
        zf.writestr(f"{name}/graph/Gr.fst", b"g")
        for member, data in (extra or {}).items():
            zf.writestr(member, data)
    return buffer.getvalue()


class _Server:
    """Serves ``routes`` (path → body, optional declared length) from a thread."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[bytes, int | None]] = {}
        routes = self.routes

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path not in routes:
                    self.send_error(404)
                    return
                body, declared = routes[self.path]
                self.send_response(200)
                self.send_header("Content-Length", str(declared or len(body)))
                self.end_headers()
                self.wfile.write(body)  # a declared length > body = connection cut short

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    yield srv
    srv.close()


def _entry(body: bytes, url: str, *, sha: str | None = None) -> ManifestModel:
    return ManifestModel(
        name=MODEL_NAME,
        language="xx",
        url=url,
        size=len(body),
        sha256=sha or hashlib.sha256(body).hexdigest(),
    )


def test_download_verifies_and_unpacks(server: _Server, tmp_path: Path) -> None:
    body = _model_zip()
    server.routes["/m.zip"] = (body, None)
    seen: list[tuple[int, int]] = []
    target = download_model(
        _entry(body, server.url + "/m.zip"),
        models_dir=tmp_path,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert target == tmp_path / MODEL_NAME
    assert (target / "am" / "final.mdl").read_bytes() == b"acoustic model bytes" * 100
    assert inspect_model(target).supports_grammar
    assert seen[-1] == (len(body), len(body))
    assert sorted(p.name for p in tmp_path.iterdir()) == [MODEL_NAME]  # no temp files left


def test_checksum_mismatch_deletes_everything(server: _Server, tmp_path: Path) -> None:
    body = _model_zip()
    server.routes["/m.zip"] = (body, None)
    entry = _entry(body, server.url + "/m.zip", sha="0" * 64)
    with pytest.raises(ModelDownloadError, match="checksum mismatch"):
        download_model(entry, models_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_truncated_download_is_refused(server: _Server, tmp_path: Path) -> None:
    body = _model_zip()
    server.routes["/m.zip"] = (body[: len(body) // 2], len(body))
    with pytest.raises(ModelDownloadError, match=r"(broke off|incomplete)"):
        download_model(_entry(body, server.url + "/m.zip"), models_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_url_override_and_http_errors(server: _Server, tmp_path: Path) -> None:
    body = _model_zip()
    server.routes["/mirror.zip"] = (body, None)
    entry = _entry(body, server.url + "/gone.zip")
    with pytest.raises(ModelDownloadError, match="HTTP 404"):
        download_model(entry, models_dir=tmp_path)
    target = download_model(entry, models_dir=tmp_path, url=server.url + "/mirror.zip")
    assert (target / "conf" / "model.conf").is_file()


def test_path_traversal_in_archive_is_refused(server: _Server, tmp_path: Path) -> None:
    body = _model_zip(extra={"../../evil.txt": b"owned"})
    server.routes["/m.zip"] = (body, None)
    models_dir = tmp_path / "models"
    with pytest.raises(ModelDownloadError, match="outside"):
        download_model(_entry(body, server.url + "/m.zip"), models_dir=models_dir)
    assert not (tmp_path / "evil.txt").exists()
    assert list(models_dir.iterdir()) == []


def test_unreachable_host_gives_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    body = _model_zip()
    with pytest.raises(ModelDownloadError, match=f"cannot reach .*{ENV_MODEL_PATH}"):
        download_model(_entry(body, f"http://127.0.0.1:{port}/m.zip"), models_dir=tmp_path)


def test_manifest_has_the_official_spanish_model() -> None:
    (spanish,) = load_manifest().for_language("es")
    assert spanish.name == "vosk-model-small-es-0.42"
    assert spanish.size == 39_817_833
    assert spanish.sha256 == "09b239888f633ef2f0b4e09736e3d9936acfd810bc65d53fad45261762c6511f"


def test_spanish_is_never_served_by_the_korean_package(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound) as error:
        resolve_model("es", env={}, models_dir=tmp_path)
    assert "voicebot models download es" in str(error.value)
    assert ENV_MODEL_PATH in str(error.value)


def test_korean_resolves_to_the_pip_package_model() -> None:
    resolved = resolve_model("ko", env={})
    assert resolved.source == "package"
    assert resolved.path.name == "model"
    assert (resolved.path / "am" / "final.mdl").is_file()
    assert inspect_model(resolved.path).supports_grammar  # lookahead graph: HCLr.fst + Gr.fst


def test_env_var_and_models_dir_take_precedence(tmp_path: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(_model_zip())) as zf:
        zf.extractall(tmp_path)
    model_dir = tmp_path / MODEL_NAME
    entry = ManifestModel(MODEL_NAME, "es", "http://unused", 1, "0" * 64)
    manifest = Manifest(models=(entry,), packages=())
    found = resolve_model("es", env={}, models_dir=tmp_path, manifest=manifest)
    assert (found.path, found.source) == (model_dir, "asr_models")
    via_env = resolve_model("es", env={ENV_MODEL_PATH: str(model_dir)}, manifest=manifest)
    assert via_env.source == "env"
    with pytest.raises(ModelNotFound, match="not a Vosk model"):
        resolve_model("es", env={ENV_MODEL_PATH: str(tmp_path)}, manifest=manifest)


def test_static_graph_does_not_support_grammars(tmp_path: Path) -> None:
    (tmp_path / "am").mkdir()
    (tmp_path / "am" / "final.mdl").write_bytes(b"x")
    (tmp_path / "graph").mkdir()
    (tmp_path / "graph" / "HCLG.fst").write_bytes(b"x")
    assert not inspect_model(tmp_path).supports_grammar
