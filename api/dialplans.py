"""Where campaign dialplans live and how an uploaded one is checked (same errors as the CLI).

An uploaded dialplan never makes the server open a path it names: its ``prompts:``
line is only matched, as text, against the prompt sets the server owns
(``prompts/<language>/<name>.yaml``). Anything else must come in the same request.
Opening arbitrary paths leaked file contents through error details, told which
paths exist and, pointed at the live SQLite database, dropped this process's
SQLite locks (other processes then deleted the WAL under it).
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from api.errors import ApiError
from voicebot.config import Settings
from voicebot.dialog import safe_yaml
from voicebot.dialog.plan import Dialplan, DialplanError
from voicebot.dialog.plan_loader import load_dialplan, parse_dialplan


def dialplans_dir(settings: Settings) -> Path:
    return settings.dialplan.parent


def prompt_sets(settings: Settings) -> dict[str, Path]:
    """The server's prompt sets by name (``es/cobranza``), found by listing, never by asking."""
    root = settings.prompts_dir
    if not root.is_dir():
        return {}
    return {
        path.relative_to(root).with_suffix("").as_posix(): path
        for path in sorted(root.rglob("*.yaml"))
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts)
    }


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
    if not stem or "/" in stem or "\\" in stem or stem.startswith(".") or "\x00" in stem:
        raise ApiError(422, "invalid_dialplan", f"{name!r} is not a dialplan name")
    path = dialplans_dir(settings) / f"{stem}.yaml"
    if not path.is_file():
        raise ApiError(
            422, "unknown_dialplan", f"no dialplan named {stem!r} in the dialplans folder"
        )
    try:
        return stem, load_dialplan(path)
    except DialplanError as exc:
        raise invalid_dialplan(exc) from exc


def _named_set(settings: Settings, reference: object) -> str | None:
    """The server prompt set a plan's ``prompts:`` line designates, matched as text only."""
    if not isinstance(reference, str) or not reference or "\x00" in reference:
        return None
    sets = prompt_sets(settings)
    if reference.removesuffix(".yaml") in sets:
        return reference.removesuffix(".yaml")
    wanted = os.path.normpath(os.path.join(dialplans_dir(settings), reference))
    for name, path in sets.items():
        if os.path.normpath(path) == wanted:
            return name
    return None


def server_prompts(settings: Settings, name: str) -> str:
    """The text of a server prompt set; an unknown name is the client's error."""
    path = prompt_sets(settings).get(name.removesuffix(".yaml"))
    if path is None:
        raise ApiError(
            422,
            "unknown_prompt_set",
            f"no prompt set named {name!r}; known: {', '.join(prompt_sets(settings)) or 'none'}",
        )
    return path.read_text(encoding="utf-8")


def validate_text(
    settings: Settings,
    text: str,
    source: str,
    *,
    prompts_text: str | None = None,
    prompt_set: str | None = None,
) -> Dialplan:
    """Validate an uploaded plan with uploaded prompts, a named server set, or the set its
    ``prompts:`` line names; never with a file the upload points at."""
    if prompts_text is None:
        if prompt_set is not None:
            prompts_text = server_prompts(settings, prompt_set)
        else:
            try:
                data = safe_yaml.load(text)
            except yaml.YAMLError:
                data = None  # parse_dialplan reports the YAML problem with its line
            named = _named_set(settings, data.get("prompts") if isinstance(data, dict) else None)
            if named is not None:
                prompts_text = server_prompts(settings, named)
            elif isinstance(data, dict):
                raise ApiError(
                    422,
                    "prompts_required",
                    "upload the prompts file with the plan (field `prompts`) or name a server "
                    f"prompt set (field `prompt_set`: {', '.join(prompt_sets(settings)) or 'none'});"
                    " the server does not open paths named in an upload",
                )
            else:
                prompts_text = ""
    try:
        return parse_dialplan(text, source=source, prompts_text=prompts_text)
    except DialplanError as exc:
        raise invalid_dialplan(exc) from exc
