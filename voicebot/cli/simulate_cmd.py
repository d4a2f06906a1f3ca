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

from voicebot.dialog.plan import DialplanError
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.domain.context import ContextError, context_from_json
from voicebot.engine.call_loop import run_call
from voicebot.telephony.text_line import SimulatedClock, TextLine

DEFAULT_DIALPLAN = Path(__file__).resolve().parents[2] / "dialplans" / "cobranza_es.yaml"


def _load_debtor(value: str) -> Any:
    """The debtor as inline JSON or a path to a JSON file."""
    text = value
    if not value.lstrip().startswith("{"):
        try:
            text = Path(value).read_text(encoding="utf-8")
        except OSError as exc:
            raise typer.BadParameter(f"cannot read {value}: {exc.strerror}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not valid JSON: {exc}") from exc


def simulate(
    debtor: Annotated[str, typer.Option(help="Debtor as JSON text or a JSON file path.")],
    dialplan: Annotated[Path, typer.Option(help="Dialplan YAML.")] = DEFAULT_DIALPLAN,
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
) -> None:
    """Play a call on the simulated line's text channel; print the bot's lines and the outcome."""
    try:
        plan = load_dialplan(dialplan)
    except DialplanError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from exc
    call_date = date.fromisoformat(today) if today else date.today()
    try:
        ctx = context_from_json(_load_debtor(debtor), today=call_date)
    except ContextError as exc:
        raise typer.BadParameter(str(exc), param_hint="--debtor") from exc
    if voice:
        if script is None:
            raise typer.BadParameter(
                "--voice needs --script: the debtor's turns are spoken by espeak-ng"
            )
        from voicebot.config import Settings
        from voicebot.speech.model_files import ModelNotFound
        from voicebot.wiring import simulate_voice_call

        try:
            outcome = asyncio.run(
                simulate_voice_call(
                    Settings(),
                    plan,
                    ctx,
                    script.read_text(encoding="utf-8").splitlines(),
                    language=lang,
                    model_path=model,
                )
            )
        except ModelNotFound as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(code=2) from exc
        if not quiet:
            for turn in outcome.transcript:
                typer.echo(f"{'BOT' if turn.speaker == 'bot' else 'DEUDOR'}: {turn.text}")
        json.dump(outcome.to_json(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return
    local_start = datetime.combine(
        call_date, time.fromisoformat(at), tzinfo=ZoneInfo(ctx.debtor.timezone)
    )
    clock = SimulatedClock(local_start)
    write = (lambda line: None) if quiet else typer.echo
    if script is not None:
        turns = script.read_text(encoding="utf-8").splitlines()
        line = TextLine.scripted(turns, clock=clock, write=write)
    else:
        typer.echo(
            "Modo interactivo: escriba como el deudor (#123 = tonos, vacío = silencio, <colgar>)."
        )

        def read_turn() -> str | None:
            try:
                return input("> ")
            except EOFError:
                return None

        line = TextLine(read_turn, clock=clock, write=write)
    outcome = asyncio.run(run_call(plan, ctx, line, clock=clock))
    json.dump(outcome.to_json(), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)
