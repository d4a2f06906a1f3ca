"""Compliance officers' commands: may we call now (``check``), replay a campaign (``audit``),
and record contacts made elsewhere (``contacts import``)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from voicebot.campaigns.compliance_audit import audit_campaign
from voicebot.campaigns.compliance_query import QueryError, answer_json, ask
from voicebot.campaigns.outside_contacts import import_csv as import_contacts
from voicebot.campaigns.portfolio_rows import PortfolioError
from voicebot.cli.lookup import find_campaign, sessions_for
from voicebot.config import Settings

compliance_app = typer.Typer(
    help="Ask the calling rules, and replay a campaign against them.", no_args_is_help=True
)
contacts_app = typer.Typer(help="Contacts made outside this service.", no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def _read(value: str, what: str) -> str:
    if value.lstrip().startswith(("{", "[")):
        return value
    try:
        return Path(value).read_text(encoding="utf-8")
    except OSError as exc:
        raise _fail(f"{what}: cannot read {value}: {exc.strerror}") from exc


@compliance_app.command("check")
def check_command(
    debtor: Annotated[
        str, typer.Option(help="Debtor as JSON text or a JSON file (simulate format).")
    ],
    phone: Annotated[str, typer.Option(help="The number to dial, E.164.")],
    at: Annotated[
        str, typer.Option(help="When, ISO 8601 (without an offset: the debtor's local time).")
    ],
    history: Annotated[
        Path | None, typer.Option(help="Earlier contacts, JSON lines (at, channel, result…).")
    ] = None,
    line_type: Annotated[
        str | None, typer.Option(help="mobile | landline | unknown (default: from the number).")
    ] = None,
    jurisdiction: Annotated[
        str | None, typer.Option(help="The campaign's jurisdiction (CO, CL, MX, PE, US…).")
    ] = None,
    channel: Annotated[
        str, typer.Option(help="voice (a call) or sms / whatsapp (a text to the number).")
    ] = "voice",
) -> None:
    """Print whether a dial (or a text) is lawful now, by which rule, and when it next is; exit 0 either way."""
    try:
        debtor_json = json.loads(_read(debtor, "--debtor"))
    except json.JSONDecodeError as exc:
        raise _fail(f"--debtor: not valid JSON ({exc})") from exc
    lines: list[str] = []
    if history is not None:
        try:
            lines = history.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise _fail(f"--history: cannot read {history}: {exc.strerror}") from exc
    try:
        decision, facts = ask(
            debtor_json,
            phone,
            at,
            history=lines,
            line_type=line_type,
            jurisdiction=jurisdiction,
            channel=channel,
        )
    except QueryError as exc:
        raise _fail(str(exc)) from exc
    json.dump(answer_json(decision, facts), sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


@compliance_app.command("audit")
def audit_command(
    campaign: Annotated[str, typer.Option(help="Campaign name.")],
    since: Annotated[
        str | None, typer.Option(help="Only dials from this date/time (ISO 8601, UTC if bare).")
    ] = None,
    csv_out: Annotated[
        Path | None, typer.Option("--csv", help="Write every dial and its verdict here.")
    ] = None,
    texts_csv: Annotated[
        Path | None, typer.Option("--texts-csv", help="Write every sent text and its verdict here.")
    ] = None,
) -> None:
    """Replay every dial and sent text of the campaign against today's rules; print the ones that break them."""
    start: datetime | None = None
    if since is not None:
        try:
            start = datetime.fromisoformat(since)
        except ValueError as exc:
            raise _fail(f"--since: not an ISO 8601 date: {since!r}") from exc
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
    sessions = sessions_for(Settings())
    campaign_id = find_campaign(sessions, campaign)
    with sessions() as s:
        report = audit_campaign(s, campaign_id, since=start)
    if csv_out is not None:
        csv_out.write_text(report.to_csv(), encoding="utf-8")
    if texts_csv is not None:
        texts_csv.write_text(report.texts_csv(), encoding="utf-8")
    json.dump(report.to_json(), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


@contacts_app.command("import")
def import_command(file: Path) -> None:
    """Record contacts made elsewhere (CSV: debtor, at, channel, result, source[, phone])."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise _fail(f"cannot read {file}: {exc.strerror}") from exc
    try:
        report = import_contacts(sessions_for(Settings()), data, actor="cli")
    except PortfolioError as exc:
        raise _fail(f"{file}: {exc}") from exc
    typer.echo(
        f"{report.recorded} contact(s) recorded, {report.already_known} already known, "
        f"{len(report.errors)} problem(s) in {report.rows} row(s)"
    )
    for error in report.errors:
        typer.echo(f"  line {error.line}, {error.column}: {error.reason}")
    if report.errors:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.add_typer(compliance_app, name="compliance")
    app.add_typer(contacts_app, name="contacts")
