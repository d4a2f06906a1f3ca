"""``voicebot recordings``: export one call's recording, purge expired ones, legal holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy import select

from voicebot.config import Settings
from voicebot.recording.policy import RecordingRulesError, campaign_recording_policy
from voicebot.recording.retention import place_hold, purge_expired, release_holds
from voicebot.recording.service import settle_interrupted
from voicebot.storage import models as m
from voicebot.storage.db import make_engine, session_factory
from voicebot.storage.repositories import append_audit

recordings_app = typer.Typer(
    help="Call recordings: export, retention purge, legal holds.", no_args_is_help=True
)
console = Console()
ACTOR = "cli"


@recordings_app.command("export")
def export(
    call: Annotated[int, typer.Option("--call", help="The call's id (as in GET /calls/{id}).")],
    out: Annotated[
        Path | None, typer.Option(help="Where to write the FLAC (default: call-ID.flac).")
    ] = None,
    actor: Annotated[str, typer.Option(help="Who exports (written to the audit log).")] = ACTOR,
) -> None:
    """Write a call's recording (and its turn timeline beside it, .json); the export is audited."""
    from voicebot.wiring import recording_store

    settings = Settings()
    store = recording_store(settings)
    sessions = session_factory(make_engine(settings.database_url))
    with sessions.begin() as s:
        row = s.execute(
            select(m.Recording, m.CallRecord)
            .join(m.CallRecord, m.CallRecord.attempt_id == m.Recording.attempt_id)
            .where(m.CallRecord.id == call, m.Recording.status.in_(("complete", "partial")))
            .order_by(m.Recording.id.desc())
        ).first()
        size = store.size(row[0].key) if row is not None else None
        if row is None or size is None:
            console.print(f"[red]call {call} has no recording[/red]")
            raise typer.Exit(code=2)
        recording, record = row
        target = out or Path(f"call-{call}.flac")
        with target.open("wb") as handle:
            for chunk in store.read(recording.key, 0, size - 1):
                handle.write(chunk)
        timeline = [
            {**mark, "text": record.transcript[int(mark["turn"])].get("text", "")}
            for mark in recording.timeline
            if int(mark["turn"]) < len(record.transcript)
        ]
        target.with_suffix(".json").write_text(
            json.dumps(
                {
                    "call_id": call,
                    "channels": recording.channels,
                    "sample_rate": recording.sample_rate,
                    "sha256": recording.sha256,
                    "status": recording.status,
                    "timeline": timeline,
                },
                ensure_ascii=False,
                indent=2,
            ),
            encoding="utf-8",
        )
        append_audit(
            s,
            actor=actor,
            action="recording_exported",
            debtor_id=recording.debtor_id,
            campaign_id=recording.campaign_id,
            attempt_id=recording.attempt_id,
            reason=f"exported to {target.name}",
            details={"recording_id": recording.id, "call_id": call},
            at=datetime.now(UTC),
        )
    console.print(f"{target} ({size} bytes, sha256 {recording.sha256})")


@recordings_app.command("purge")
def purge(
    dry_run: Annotated[
        bool, typer.Option(help="List what would be deleted; delete nothing.")
    ] = False,
) -> None:
    """Delete recordings past their retention period (held debtors' are kept); each is audited."""
    from voicebot.wiring import recording_store

    settings = Settings()
    store = recording_store(settings)
    sessions = session_factory(make_engine(settings.database_url))
    now = datetime.now(UTC)
    if not dry_run:
        settle_interrupted(sessions, store, now=now, actor=ACTOR)
    report = purge_expired(sessions, store, now=now, actor=ACTOR, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    console.print(
        f"{verb} {len(report.purged)} recording(s); kept {len(report.held)} under legal hold"
    )
    for recording_id in report.purged:
        console.print(f"  {verb}: recording {recording_id}")


@recordings_app.command("recover")
def recover() -> None:
    """Settle recordings a dead worker left open: keep what plays, hash it, audit it."""
    from voicebot.wiring import recording_store

    settings = Settings()
    sessions = session_factory(make_engine(settings.database_url))
    settled = settle_interrupted(
        sessions, recording_store(settings), now=datetime.now(UTC), actor=ACTOR
    )
    console.print(f"settled {len(settled)} interrupted recording(s)")


@recordings_app.command("hold")
def hold(
    debtor: Annotated[int, typer.Option("--debtor", help="The debtor's id.")],
    reason: Annotated[str, typer.Option(help="dispute, complaint, litigation…")],
    note: Annotated[str, typer.Option(help="Free text for the file (case number).")] = "",
) -> None:
    """Place a legal hold: none of the debtor's recordings is purged until it is released."""
    settings = Settings()
    sessions = session_factory(make_engine(settings.database_url))
    with sessions.begin() as s:
        found = place_hold(
            s, debtor_id=debtor, reason=reason, actor=ACTOR, at=datetime.now(UTC), note=note
        )
        console.print(f"hold {found.id} placed on debtor {debtor}")


@recordings_app.command("release")
def release(debtor: Annotated[int, typer.Option("--debtor", help="The debtor's id.")]) -> None:
    """Release every legal hold on a debtor (their recordings follow retention again)."""
    settings = Settings()
    sessions = session_factory(make_engine(settings.database_url))
    with sessions.begin() as s:
        count = release_holds(s, debtor_id=debtor, actor=ACTOR, at=datetime.now(UTC))
    console.print(f"released {count} hold(s) on debtor {debtor}")


@recordings_app.command("policy")
def policy(
    campaign: Annotated[str, typer.Option(help="The campaign's name.")],
    notice: Annotated[
        bool | None, typer.Option(help="Open every call with the recording notice.")
    ] = None,
    retention_days: Annotated[
        int | None, typer.Option(help="Keep this campaign's recordings at least this long.")
    ] = None,
) -> None:
    """Set a campaign's recording policy on top of the law (it can add a notice, never drop one)."""
    settings = Settings()
    sessions = session_factory(make_engine(settings.database_url))
    with sessions.begin() as s:
        row = s.scalar(select(m.Campaign).where(m.Campaign.name == campaign))
        if row is None:
            console.print(f"[red]no campaign named {campaign!r}[/red]")
            raise typer.Exit(code=2)
        wanted = dict(row.recording_policy or {})
        if notice is not None:
            wanted["notice"] = notice
        if retention_days is not None:
            wanted["retention_days"] = retention_days
        try:
            row.recording_policy = campaign_recording_policy(wanted)
        except RecordingRulesError as error:
            console.print(f"[red]{error}[/red]")
            raise typer.Exit(code=2) from error
        console.print(f"campaign {campaign}: recording policy {row.recording_policy}")


def register(app: typer.Typer) -> None:
    app.add_typer(recordings_app, name="recordings")
