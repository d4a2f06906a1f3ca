"""Where campaign dialplans live and how an uploaded one is checked (same errors as the CLI)."""

from __future__ import annotations

from pathlib import Path

from api.errors import ApiError
from voicebot.config import Settings
from voicebot.dialog.plan import Dialplan, DialplanError
from voicebot.dialog.plan_loader import load_dialplan, parse_dialplan


def dialplans_dir(settings: Settings) -> Path:
    return settings.dialplan.parent


def problems_detail(exc: DialplanError) -> list[dict[str, object]]:
    return [{"path": p.path, "message": p.message, "line": p.line} for p in exc.problems]


def invalid_dialplan(exc: DialplanError) -> ApiError:
    return ApiError(
        422,
        "invalid_dialplan",
        f"the dialplan has {len(exc.problems)} problem(s)",
        problems_detail(exc),
    )


def resolve_dialplan(settings: Settings, name: str) -> tuple[str, Dialplan]:
    """A dialplan file by name (no directories: campaigns may only use the vetted folder)."""
    stem = name.removesuffix(".yaml").removesuffix(".yml")
    if not stem or "/" in stem or "\\" in stem or stem.startswith("."):
        raise ApiError(422, "invalid_dialplan", f"{name!r} is not a dialplan name")
    path = dialplans_dir(settings) / f"{stem}.yaml"
    if not path.is_file():
        raise ApiError(422, "unknown_dialplan", f"no dialplan named {stem!r} in dialplans/")
    try:
        return stem, load_dialplan(path)
    except DialplanError as exc:
        raise invalid_dialplan(exc) from exc


def validate_text(settings: Settings, text: str, source: str) -> Dialplan:
    """Relative prompt paths resolve against dialplans/, as for a file saved there."""
    try:
        return parse_dialplan(text, source=source, base_dir=dialplans_dir(settings))
    except DialplanError as exc:
        raise invalid_dialplan(exc) from exc
