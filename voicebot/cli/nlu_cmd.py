"""``voicebot nlu`` (understand utterances) and ``voicebot eval nlu`` (score a labeled set)."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer

from voicebot.cli.errors import InputError, parse_date
from voicebot.dialog.nlu import understand
from voicebot.dialog.nlu.evaluate import LabeledDataError, read_examples, render, score


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"--tz: unknown time zone {tz!r}") from None


def _day(value: str | None, zone: ZoneInfo, hint: str = "--today") -> date:
    if value is None:
        return datetime.now(zone).date()
    return parse_date(value, hint)


def _moment(value: str | None, today: str | None, zone: ZoneInfo) -> datetime | None:
    """The utterance's moment: --now, else the real clock unless a fixed --today was asked."""
    if value is None:
        return None if today is not None else datetime.now(zone)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"--now: expected an ISO date-time, got {value!r}") from None
    return moment.astimezone(zone) if moment.tzinfo else moment.replace(tzinfo=zone)


def nlu(
    text: Annotated[
        str | None,
        typer.Argument(help="What the debtor said; omit to read one utterance per stdin line."),
    ] = None,
    today: Annotated[
        str | None, typer.Option(help="Call date YYYY-MM-DD in the debtor's zone [default: today].")
    ] = None,
    tz: Annotated[str, typer.Option(help="Debtor's time zone.")] = "America/Bogota",
    now: Annotated[
        str | None, typer.Option(help="Moment of the utterance, ISO (for 'en una hora').")
    ] = None,
) -> None:
    """Print what an utterance means as JSON: intent, amount, date, callback time."""
    zone = _zone(tz)
    day = _day(today, zone)
    moment = _moment(now, today, zone)
    if moment is not None and now is not None and today is None:
        day = moment.date()

    def one(utterance: str) -> str:
        out: dict[str, Any] = {"text": utterance}
        out.update(understand(utterance, today=day, now=moment, tz=tz).to_json())
        return json.dumps(out, ensure_ascii=False)

    if text is not None:
        typer.echo(one(text))
        return
    for raw in sys.stdin:
        typer.echo(one(raw.rstrip("\r\n")))


def eval_nlu(
    file: Annotated[Path, typer.Argument(help="Labeled JSONL: text, intent, amount?, date?.")],
    today: Annotated[
        str | None, typer.Option(help="Call date the labels assume, YYYY-MM-DD [default: today].")
    ] = None,
    tz: Annotated[str, typer.Option(help="Debtor's time zone.")] = "America/Bogota",
    as_json: Annotated[bool, typer.Option("--json", help="Print the scores as JSON.")] = False,
) -> None:
    """Intent accuracy, amount and date exact match, and every miss, on a labeled set."""
    zone = _zone(tz)
    day = _day(today, zone)
    try:
        with file.open(encoding="utf-8") as handle:
            examples = read_examples(handle)
    except OSError as exc:
        typer.echo(f"{file}: cannot read: {exc.strerror or exc}", err=True)
        raise typer.Exit(code=2) from None
    except UnicodeDecodeError:
        typer.echo(f"{file}: not UTF-8 text", err=True)
        raise typer.Exit(code=2) from None
    except LabeledDataError as exc:
        typer.echo(f"{file}:{exc.line}: {exc.problem}", err=True)
        raise typer.Exit(code=2) from None
    result = score(examples, lambda utterance: understand(utterance, today=day, tz=tz))
    if as_json:
        typer.echo(json.dumps({"file": str(file), "today": day.isoformat(), **result.to_json()}))
    else:
        typer.echo(f"{file}: {len(examples)} utterances, call date {day.isoformat()}")
        typer.echo(render(result))


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    """Attach ``nlu`` to the main app and ``nlu`` to the ``eval`` group."""
    app.command("nlu")(nlu)
    eval_app.command("nlu")(eval_nlu)
