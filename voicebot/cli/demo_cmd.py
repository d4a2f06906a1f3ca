"""``voicebot demo``: the embedded default main job, runnable with no accounts."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from voicebot.campaigns.demo import DemoCall, run_text_demo, spanish_model_available
from voicebot.dialog.plan import load_dialplan

ROOT = Path(__file__).resolve().parents[2]


def demo(
    debtors: Annotated[int, typer.Option(help="How many synthetic debtors to call.")] = 40,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic portfolio.")] = 7,
    today: Annotated[str | None, typer.Option(help="Campaign date YYYY-MM-DD.")] = None,
    dialplan: Annotated[Path, typer.Option(help="Dialplan YAML.")] = ROOT
    / "dialplans"
    / "cobranza_es.yaml",
    json_out: Annotated[bool, typer.Option("--json", help="Print KPIs as JSON.")] = False,
) -> None:
    """Run a demo collections campaign on the simulated line and print its KPIs."""
    console = Console()
    plan = load_dialplan(dialplan)
    if spanish_model_available():
        console.print(
            "[bold]Spanish Vosk model found[/bold] — audio mode is not wired yet; using text."
        )
    else:
        console.print(
            "No Spanish Vosk model installed: the demo runs on the [bold]simulated line's text "
            "channel[/bold] (debtors' answers as text, not audio). "
            "Get the model with `voicebot models download es`."
        )
    day = date.fromisoformat(today) if today else date.today()
    with Progress(
        TextColumn("[bold]calls"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=console,
    ) as progress:
        task = progress.add_task("", total=debtors)

        def on_call(call: DemoCall) -> None:
            progress.update(
                task,
                advance=1,
                description=f"{call.debtor.external_id} {call.debtor.scenario} → {call.outcome.disposition}",
            )

        calls, kpis = asyncio.run(
            run_text_demo(plan, debtors=debtors, today=day, seed=seed, on_call=on_call)
        )
    if json_out:
        console.print_json(json.dumps(kpis.to_json()))
        return
    table = Table(title=f"Demo campaign — {len(calls)} calls")
    table.add_column("KPI")
    table.add_column("value", justify="right")
    for name, value in kpis.to_json().items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
        table.add_row(name.replace("_", " "), str(value))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
