"""``voicebot simulate``: play a whole call in text, scripted or typed by a person."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from voicebot.cli.errors import InputError, load_plan, parse_date, read_text
from voicebot.config import Settings
from voicebot.dialog.callers import CallerIdError
from voicebot.dialog.inbound_line import line_from_json
from voicebot.dialog.plan import Dialplan
from voicebot.domain.context import CallContext, ContextError, Debtor, context_from_json
from voicebot.domain.outcome import CallOutcome
from voicebot.engine.call_loop import run_call
from voicebot.telephony.text_line import SimulatedClock, TextLine


def _load_debtor(value: str) -> Any:
    """The debtor as inline JSON or a path to a JSON file."""
    text = value if value.lstrip().startswith("{") else read_text(Path(value))
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"--debtor: not valid JSON: {exc}") from exc


def _local_time(value: str) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise InputError(f"--at: expected a time HH:MM, got {value!r}") from None


def simulate(
    debtor: Annotated[
        str | None, typer.Option(help="Debtor as JSON text or a JSON file path (outbound).")
    ] = None,
    dialplan: Annotated[
        Path | None,
        typer.Option(help="Dialplan YAML (default: VOICEBOT_DIALPLAN, the shipped one)."),
    ] = None,
    script: Annotated[
        Path | None,
        typer.Option(help="Debtor turns, one per line (#123 = DTMF, empty = silence, <colgar>)."),
    ] = None,
    today: Annotated[
        str | None, typer.Option(help="Call date YYYY-MM-DD (default: today).")
    ] = None,
    at: Annotated[str, typer.Option(help="Local time of the call, HH:MM.")] = "10:00",
    quiet: Annotated[bool, typer.Option(help="Print only the outcome JSON.")] = False,
    voice: Annotated[
        bool,
        typer.Option(
            "--voice",
            help="Run on the simulated voice line: TTS → G.711 line → Vosk (needs --script).",
        ),
    ] = False,
    lang: Annotated[
        str,
        typer.Option(help="Recognizer language in --voice mode (es, or ko for the test model)."),
    ] = "es",
    model: Annotated[Path | None, typer.Option(help="Vosk model directory for --voice.")] = None,
    inbound: Annotated[
        bool,
        typer.Option(
            "--inbound",
            help="The debtor calls the callback number (needs --caller and --line).",
        ),
    ] = False,
    caller: Annotated[
        str | None, typer.Option(help="Inbound: the caller ID, E.164 (+57...).")
    ] = None,
    line_file: Annotated[
        Path | None,
        typer.Option(
            "--line",
            help="Inbound: the debtors who may call, with their phones (examples/inbound_line.json).",
        ),
    ] = None,
    database: Annotated[
        str | None,
        typer.Option(
            help="Inbound: find the caller in this database (URL, e.g. the demo's "
            "sqlite:///var/demo.sqlite3) and store the call there.",
        ),
    ] = None,
) -> None:
    """Play a call on the simulated line's text channel; print the bot's lines and the outcome."""
    settings = Settings()
    call_date = parse_date(today, "--today") if today else date.today()
    start_time = _local_time(at)
    if inbound and database is not None:
        plan = load_plan(dialplan or settings.inbound_dialplan)
        if caller is None or line_file is not None or debtor is not None or voice:
            raise InputError(
                "--inbound --database needs --caller (and no --line, --debtor, --voice)"
            )
        turns = read_text(script).splitlines() if script is not None else None
        _print_outcome(
            _stored_inbound(settings, plan, database, caller, call_date, start_time, turns, quiet)
        )
        return
    if inbound:
        plan = load_plan(dialplan or settings.inbound_dialplan)
        ctx = _inbound_context(caller, line_file, debtor, call_date)
    else:
        plan = load_plan(dialplan or settings.dialplan)
        if debtor is None or caller is not None or line_file is not None or database is not None:
            raise InputError(
                "an outbound call needs --debtor (--caller, --line and --database need --inbound)"
            )
        try:
            ctx = context_from_json(_load_debtor(debtor), today=call_date)
        except ContextError as exc:
            raise InputError(f"--debtor: {exc}") from exc
    turns = read_text(script).splitlines() if script is not None else None
    if voice:
        if turns is None:
            raise InputError("--voice needs --script: the debtor's turns are spoken by espeak-ng")
        _print_outcome(_voice_call(settings, plan, ctx, turns, lang, model, quiet))
        return
    local_start = datetime.combine(call_date, start_time, tzinfo=ZoneInfo(ctx.debtor.timezone))
    clock = SimulatedClock(local_start)
    line = _text_line(turns, clock, quiet)
    _print_outcome(asyncio.run(run_call(plan, ctx, line, clock=clock)))


def _text_line(turns: list[str] | None, clock: SimulatedClock, quiet: bool) -> TextLine:
    """The scripted line, or a person typing the debtor's turns."""
    write = (lambda line: None) if quiet else typer.echo
    if turns is not None:
        return TextLine.scripted(turns, clock=clock, write=write)
    typer.echo(
        "Modo interactivo: escriba como el deudor (#123 = tonos, vacío = silencio, <colgar>)."
    )

    def read_turn() -> str | None:
        try:
            return input("> ")
        except EOFError:
            return None

    return TextLine(read_turn, clock=clock, write=write)


def _stored_inbound(
    settings: Settings,
    plan: Dialplan,
    database: str,
    caller: str,
    call_date: date,
    start_time: time,
    turns: list[str] | None,
    quiet: bool,
) -> CallOutcome:
    """An inbound call against a database: the caller is looked up there and the call stored."""
    from voicebot.engine.inbound import answer_inbound
    from voicebot.storage.db import make_engine, session_factory

    line_context = CallContext(
        debtor=Debtor(full_name=""),
        today=call_date,
        company=settings.company,
        callback_number=settings.callback_number,
    )
    local_start = datetime.combine(
        call_date, start_time, tzinfo=ZoneInfo(line_context.debtor.timezone)
    )
    clock = SimulatedClock(local_start)
    line = _text_line(turns, clock, quiet)
    engine = make_engine(database)
    try:
        call = asyncio.run(
            answer_inbound(
                plan,
                line,
                caller=caller,
                sessions=session_factory(engine),
                line=line_context,
                clock=clock,
                actor="simulate",
            )
        )
    except CallerIdError as exc:
        raise InputError(f"--caller: {exc}") from exc
    finally:
        engine.dispose()
    if not quiet:
        stored = f"attempt {call.attempt_id}" if call.attempt_id else "audit log (not identified)"
        typer.echo(f"[llamada entrante guardada: {stored}]")
    return call.outcome


def _inbound_context(
    caller: str | None, line_file: Path | None, debtor: str | None, call_date: date
) -> CallContext:
    """The context an inbound call from ``caller`` starts with, on the line's debtors."""
    if caller is None or line_file is None or debtor is not None:
        raise InputError("--inbound needs --caller and --line (and no --debtor)")
    try:
        data = json.loads(read_text(line_file))
    except json.JSONDecodeError as exc:
        raise InputError(f"--line: not valid JSON: {exc}") from exc
    try:
        return line_from_json(data, today=call_date).context_for(caller)
    except CallerIdError as exc:
        raise InputError(f"--caller: {exc}") from exc
    except ContextError as exc:
        raise InputError(f"--line: {exc}") from exc


def _voice_call(
    settings: Settings,
    plan: Dialplan,
    ctx: CallContext,
    turns: list[str],
    language: str,
    model: Path | None,
    quiet: bool,
) -> CallOutcome:
    """The call over TTS → G.711 line → Vosk; prints the transcript unless ``quiet``."""
    from voicebot.speech.model_files import ModelNotFound
    from voicebot.wiring import simulate_voice_call

    try:
        outcome = asyncio.run(
            simulate_voice_call(settings, plan, ctx, turns, language=language, model_path=model)
        )
    except ModelNotFound as exc:
        raise InputError(str(exc)) from exc
    if not quiet:
        for turn in outcome.transcript:
            typer.echo(f"{'BOT' if turn.speaker == 'bot' else 'DEUDOR'}: {turn.text}")
    return outcome


def _print_outcome(outcome: CallOutcome) -> None:
    json.dump(outcome.to_json(), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)
