"""``voicebot demo``: the embedded default main job, runnable with no accounts."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from voicebot.cli.errors import InputError, load_plan, parse_date
from voicebot.config import VAR_DIR, Settings
from voicebot.demo.campaign import RunnerFactory, run_demo, spanish_model_available
from voicebot.demo.synthetic import SyntheticDebtor
from voicebot.dialog.plan import Dialplan
from voicebot.engine.dialer import CallResult

KPI_ROWS = (
    "debtors_in_campaign",
    "attempts",
    "contacts",
    "right_party_contacts",
    "promises",
    "promised_amount",
    "transfers",
    "opt_outs",
    "disputes",
    "refused_by_compliance",
    "contact_rate",
    "right_party_rate",
    "promise_rate",
    "messages_sent",
    "messages_refused",
    "promises_kept",
    "promises_broken",
    "kept_rate",
    "recovered_amount",
)


def demo(
    debtors: Annotated[int, typer.Option(help="How many synthetic debtors to call.")] = 40,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic portfolio.")] = 7,
    today: Annotated[
        str | None, typer.Option(help="Campaign date YYYY-MM-DD (next working day used).")
    ] = None,
    database: Annotated[Path, typer.Option(help="SQLite file the demo (re)creates.")] = VAR_DIR
    / "demo.sqlite3",
    text: Annotated[
        bool, typer.Option("--text", help="Force the text channel even with a Spanish model.")
    ] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the campaigns' status as JSON.")
    ] = False,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve",
            help="Run in real time while serving the API and the console on loopback.",
        ),
    ] = False,
    host: Annotated[str, typer.Option(help="With --serve: interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="With --serve: TCP port (0: any free one).")] = 8000,
    call_seconds: Annotated[
        float, typer.Option(help="With --serve: how long each demo call lasts, in seconds.")
    ] = 4.0,
) -> None:
    """Run a demo collections campaign (SQLite, simulated carrier, synthetic debtors) and print KPIs."""
    if debtors < 1:
        raise InputError(f"--debtors: expected at least 1, got {debtors}")
    if serve and call_seconds <= 0:
        raise InputError(f"--call-seconds: expected more than 0, got {call_seconds}")
    if serve and not 0 <= port <= 65535:
        raise InputError(f"--port: expected 0 to 65535, got {port}")
    day = parse_date(today, "--today") if today else date.today()
    console = Console()
    settings = Settings()
    plan = load_plan(settings.dialplan)
    runner_factory = _voice_runner(settings, plan, console) if not text else None
    if text:
        console.print("Text channel requested (--text).")
    mode = "voice" if runner_factory is not None else "text"
    if serve:
        _serve(
            plan,
            settings,
            database,
            debtors,
            day,
            seed,
            runner_factory,
            mode,
            host,
            port,
            call_seconds,
        )
        return
    with Progress(
        TextColumn("[bold]calls"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=json_out,
    ) as progress:
        task = progress.add_task("", total=debtors)

        def on_call(debtor: SyntheticDebtor, result: CallResult) -> None:
            label = result.disposition.value
            progress.update(
                task, advance=1, description=f"{debtor.external_id} {debtor.country} → {label}"
            )

        result = asyncio.run(
            run_demo(
                plan,
                database=database,
                debtors=debtors,
                today=day,
                seed=seed,
                runner_factory=runner_factory,
                mode=mode,
                on_call=on_call,
            )
        )
    if json_out:
        typer.echo(
            json.dumps(
                {
                    "mode": mode,
                    "campaign_day": result.campaign_day.isoformat(),
                    "campaigns": result.statuses,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    console.print(f"Campaign day {result.campaign_day:%A %Y-%m-%d %H:%M %Z}; database {database}")
    console.print(_table(result.statuses))


def _serve(
    plan: Dialplan,
    settings: Settings,
    database: Path,
    debtors: int,
    day: date,
    seed: int,
    runner_factory: RunnerFactory | None,
    mode: str,
    host: str,
    port: int,
    call_seconds: float,
) -> None:
    from voicebot.cli.demo_serve import serve_demo

    def on_call(debtor: SyntheticDebtor, result: CallResult) -> None:
        typer.echo(f"call {debtor.external_id} {debtor.country} → {result.disposition.value}")

    def run(on_ready: Any) -> Any:
        return run_demo(
            plan,
            database=database,
            debtors=debtors,
            today=day,
            seed=seed,
            runner_factory=runner_factory,
            mode=mode,
            on_call=on_call,
            call_seconds=call_seconds,
            on_ready=on_ready,
        )

    serve_demo(run, host=host, port=port, settings=settings)


def _voice_runner(settings: Settings, plan: Dialplan, console: Console) -> RunnerFactory | None:
    """Calls over TTS → G.711 line → Vosk when a Spanish model is installed, else ``None``."""
    if not spanish_model_available(settings.speech.models_dir):
        console.print(
            "No Spanish Vosk model installed, so the demo runs on the [bold]simulated line's text channel[/bold]: "
            "the debtors' answers are text, not audio (`voicebot models download es` installs the model)."
        )
        return None
    from voicebot.wiring import simulated_voice_runner

    console.print(
        "Spanish Vosk model found: calls run through [bold]TTS → G.711 line → Vosk[/bold]."
    )
    return simulated_voice_runner(settings, plan)


def _table(statuses: list[dict[str, Any]]) -> Table:
    table = Table(title="Demo campaigns — KPIs from the database")
    table.add_column("KPI")
    for status in statuses:
        table.add_column(f"{status['campaign']}", justify="right")
    for name in KPI_ROWS:
        cells = []
        for status in statuses:
            value = status["kpis"][name]
            if isinstance(value, dict):
                value = ", ".join(f"{v:,.0f} {k}" for k, v in value.items()) or "-"
            elif isinstance(value, float):
                value = f"{value:.0%}"
            cells.append(str(value))
        table.add_row(name.replace("_", " "), *cells)
    table.add_row(
        "by disposition",
        *(" ".join(f"{k}={v}" for k, v in s["kpis"]["by_disposition"].items()) for s in statuses),
    )
    return table


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
