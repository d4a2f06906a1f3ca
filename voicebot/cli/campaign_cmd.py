"""Campaign managers' commands: create, import, launch/pause/resume/stop, status."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from voicebot.campaigns import lifecycle
from voicebot.campaigns.portfolio import import_csv
from voicebot.campaigns.portfolio_rows import PortfolioError
from voicebot.campaigns.status import campaign_status
from voicebot.cli.errors import InputError, load_plan, read_bytes
from voicebot.cli.lookup import find_campaign, sessions_for
from voicebot.config import Settings
from voicebot.storage import models as m

campaign_app = typer.Typer(help="Create, load, launch and watch campaigns.", no_args_is_help=True)
console = Console()
JURISDICTIONS = ("CO", "CL", "MX", "PE", "US")


@campaign_app.command("create")
def create(
    name: str,
    jurisdiction: Annotated[
        str, typer.Option(help="CO, CL, MX, PE or US: the calling rules that apply.")
    ],
    region: Annotated[
        str | None, typer.Option(help="Default phone region (default: the jurisdiction).")
    ] = None,
    dialplan: Annotated[
        Path | None, typer.Option(help="Dialplan YAML (default: the configured one).")
    ] = None,
    min_payment: Annotated[
        float, typer.Option(help="Smallest single payment the bot may accept.")
    ] = 0,
    max_days_ahead: Annotated[
        int, typer.Option(help="Latest promise date, in days from the call.")
    ] = 30,
    max_instalments: Annotated[int, typer.Option(help="Most instalments the bot may offer.")] = 6,
    max_concurrent: Annotated[
        int, typer.Option(help="Live calls at once, across all workers.")
    ] = 10,
    calls_per_second: Annotated[
        float, typer.Option(help="New calls per second, across all workers.")
    ] = 1.0,
    company: Annotated[
        str, typer.Option(help="Name said to anyone who answers (must not reveal collection).")
    ] = "",
    callback_number: Annotated[str, typer.Option(help="Number left in messages.")] = "",
) -> None:
    """Create a campaign (the dialplan is validated first)."""
    settings = Settings()
    plan_path = dialplan or settings.dialplan
    code = jurisdiction.upper()
    if code not in JURISDICTIONS:
        raise InputError(
            f"--jurisdiction: expected one of {', '.join(JURISDICTIONS)}, got {jurisdiction!r}"
        )
    load_plan(plan_path)
    sessions = sessions_for(settings)
    with sessions.begin() as s:
        s.add(
            m.Campaign(
                name=name,
                dialplan=str(plan_path),
                jurisdiction=code,
                default_region=(region or code).upper(),
                company=company or settings.company,
                callback_number=callback_number or settings.callback_number,
                limits={
                    "min_payment": min_payment,
                    "max_days_ahead": max_days_ahead,
                    "max_instalments": max_instalments,
                },
                max_concurrent=max_concurrent,
                calls_per_second=calls_per_second,
            )
        )
    console.print(f"campaign {name!r} created ({code})")


@campaign_app.command("import")
def import_portfolio(
    file: Path,
    campaign: Annotated[str, typer.Option(help="Campaign the debtors join.")],
    creditor: Annotated[str, typer.Option(help="Creditor for rows without that column.")] = "",
    errors_out: Annotated[
        Path | None, typer.Option(help="Write the row error report as CSV here.")
    ] = None,
) -> None:
    """Import a portfolio CSV: good rows are upserted, bad rows reported with line numbers."""
    settings = Settings()
    sessions = sessions_for(settings)
    campaign_id = find_campaign(sessions, campaign)
    with sessions() as s:
        region = s.get_one(m.Campaign, campaign_id).default_region
    if errors_out is not None and not errors_out.parent.is_dir():
        # Checked before importing: the report would otherwise be lost after the rows are in.
        raise InputError(f"--errors-out: no directory {errors_out.parent}")
    data = read_bytes(file)
    total = max(1, data.count(b"\n") - 1)
    with Progress(
        TextColumn("[bold]rows"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),  # stdout keeps only the report
        transient=True,
    ) as progress:
        task = progress.add_task("import", total=total)
        try:
            report = import_csv(
                sessions,
                data,
                default_region=region,
                campaign_id=campaign_id,
                default_creditor=creditor,
                progress=lambda rows: progress.update(task, completed=rows),
            )
        except PortfolioError as exc:
            raise InputError(f"{file}: {exc}") from exc
    summary = report.to_json()
    console.print(
        f"{summary['imported']} of {summary['rows']} rows imported "
        f"({summary['debtors_created']} new debtors, {summary['debtors_updated']} updated, "
        f"{summary['debts_created']} new debts); {len(report.errors)} problem(s)"
    )
    for error in report.errors[:50]:
        console.print(f"  line {error.line}, {error.column}: {error.reason}")
    if len(report.errors) > 50:
        console.print(f"  … {len(report.errors) - 50} more")
    if errors_out is not None:
        lines = ["line,column,reason"] + [
            f'{e.line},"{e.column}","{e.reason.replace(chr(34), chr(39))}"' for e in report.errors
        ]
        try:
            errors_out.write_text("\n".join(lines) + "\n", encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write {errors_out}: {exc.strerror or exc}") from exc


def _transition(action: str, name: str) -> None:
    settings = Settings()
    sessions = sessions_for(settings)
    campaign_id = find_campaign(sessions, name)
    change = getattr(lifecycle, f"{action}_campaign")
    try:
        with sessions.begin() as s:
            result = change(s, campaign_id=campaign_id, now=datetime.now(UTC), actor="cli")
    except lifecycle.CampaignStateError as exc:
        raise InputError(str(exc)) from exc
    extra = f" ({result} attempts queued)" if action == "launch" else ""
    extra = f" ({result} queued attempts cancelled)" if action == "stop" else extra
    console.print(f"campaign {name!r}: {action}{extra}")


@campaign_app.command("launch")
def launch(name: str) -> None:
    """Start dialing (queues a first attempt per debtor; re-launch tops up new debtors)."""
    _transition("launch", name)


@campaign_app.command("pause")
def pause(name: str) -> None:
    """Stop new dials; calls in progress finish."""
    _transition("pause", name)


@campaign_app.command("resume")
def resume(name: str) -> None:
    _transition("resume", name)


@campaign_app.command("stop")
def stop(name: str) -> None:
    """Stop and cancel everything still queued."""
    _transition("stop", name)


@campaign_app.command("status")
def status(name: str, json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Live counts by disposition and KPIs (overall and per segment)."""
    settings = Settings()
    sessions = sessions_for(settings)
    campaign_id = find_campaign(sessions, name)
    with sessions() as s:
        data = campaign_status(s, campaign_id=campaign_id)
    if json_out:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        return
    console.print(f"[bold]{data['campaign']}[/bold] — {data['status']} ({data['jurisdiction']})")
    console.print(
        "attempts: " + ", ".join(f"{k}={v}" for k, v in sorted(data["attempts_by_status"].items()))
    )
    table = Table()
    table.add_column("KPI")
    table.add_column("value", justify="right")
    for key, value in data["kpis"].items():
        table.add_row(key.replace("_", " "), _fmt(value))
    console.print(table)
    if data["refused_by_rule"]:
        console.print(
            "refused by compliance: "
            + ", ".join(f"{k}={v}" for k, v in data["refused_by_rule"].items())
        )


def _fmt(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def register(app: typer.Typer) -> None:
    app.add_typer(campaign_app, name="campaign")
