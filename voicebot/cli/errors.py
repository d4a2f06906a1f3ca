"""Bad input at the terminal: one line on stderr and exit code 2, never a traceback.

Commands raise :class:`InputError` (or let a :class:`~voicebot.config.SettingsError` rise);
the top-level group turns either into ``error: <message>``. Typer's own usage errors (an
unknown option, a missing argument) keep Click's usage message and exit code 2 too.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import typer
from sqlalchemy.exc import OperationalError
from typer.core import TyperGroup

from voicebot.config import SettingsError
from voicebot.dialog.plan import Dialplan, DialplanError
from voicebot.dialog.plan_loader import load_dialplan


class InputError(Exception):
    """Something the person typed or pointed at is wrong; the message says what and where."""


class VoicebotGroup(TyperGroup):
    """The ``voicebot`` group: reports input errors as one line instead of a traceback."""

    def invoke(self, ctx: Any) -> Any:  # typer.core.TyperGroup.invoke takes its vendored Context
        try:
            return super().invoke(ctx)
        except (InputError, SettingsError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(code=2) from exc


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc


def read_text(path: Path) -> str:
    try:
        return read_bytes(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text (byte {exc.start})") from exc


def parse_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option}: expected a date YYYY-MM-DD, got {value!r}") from None


def load_plan(path: Path) -> Dialplan:
    """A dialplan, or one line naming its first mistake (``dialplan check`` lists them all)."""
    try:
        return load_dialplan(path)
    except DialplanError as exc:
        first = exc.problems[0].render(exc.source) if exc.problems else str(exc)
        more = len(exc.problems) - 1
        tail = f" (and {more} more: voicebot dialplan check {path})" if more > 0 else ""
        raise InputError(first + tail) from exc


def unreachable(database_url: str, exc: OperationalError) -> InputError:
    """A wrong or unreachable ``VOICEBOT_DATABASE_URL``, without its password."""
    lines = str(exc.orig).strip().splitlines()
    where = database_url.split("@")[-1]
    return InputError(f"cannot reach the database at {where}: {lines[0] if lines else 'no answer'}")
