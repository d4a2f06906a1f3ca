"""Retention: delete recordings past their period, never one of a debtor under a legal hold.

A debtor is held while an unreleased ``LegalHold`` exists (a complaint, a litigation
notice) or any of their debts is ``disputed``: the recording is the evidence. Each
deletion is one audit row, written in the same transaction that marks the row
``purged``; the file is deleted first, so a crash in between leaves a row that a
rerun purges again (deleting a missing file is not an error), never a row that claims
a file that was kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, sessionmaker

from voicebot.recording.store import RecordingStore
from voicebot.storage import models as m
from voicebot.storage.repositories import append_audit

PURGEABLE = ("complete", "partial", "lost")


@dataclass(slots=True)
class PurgeReport:
    purged: list[int] = field(default_factory=list)  # recording ids (would be) deleted
    held: list[int] = field(default_factory=list)  # expired but kept: legal hold
    dry_run: bool = False


def held_debtors(s: Session) -> set[int]:
    holds = s.scalars(select(m.LegalHold.debtor_id).where(m.LegalHold.released_at.is_(None)))
    disputes = s.scalars(select(m.Debt.debtor_id).where(m.Debt.status == "disputed"))
    return set(holds) | set(disputes)


def purge_expired(
    sessions: sessionmaker[Session],
    store: RecordingStore,
    *,
    now: datetime,
    actor: str,
    dry_run: bool = False,
) -> PurgeReport:
    report = PurgeReport(dry_run=dry_run)
    with sessions() as s:
        expired = s.execute(
            select(m.Recording.id, m.Recording.debtor_id)
            .where(m.Recording.status.in_(PURGEABLE), m.Recording.retain_until <= now)
            .order_by(m.Recording.id)
        ).all()
        held = held_debtors(s)
    for recording_id, debtor_id in expired:
        if debtor_id in held:
            report.held.append(recording_id)
            continue
        report.purged.append(recording_id)
        if dry_run:
            continue
        with sessions.begin() as s:
            row = s.get_one(m.Recording, recording_id)
            still_free = not s.scalar(
                select(
                    exists().where(
                        m.LegalHold.debtor_id == row.debtor_id, m.LegalHold.released_at.is_(None)
                    )
                )
            )
            if not still_free:  # a hold placed while purging wins
                report.purged.remove(recording_id)
                report.held.append(recording_id)
                continue
            existed = store.delete(row.key)
            row.status = "purged"
            row.purged_at = now
            append_audit(
                s,
                actor=actor,
                action="recording_purged",
                debtor_id=row.debtor_id,
                campaign_id=row.campaign_id,
                attempt_id=row.attempt_id,
                rule=row.retention_rule[:80],
                reason=f"retention of {row.retention_days} days ended {row.retain_until:%Y-%m-%d}",
                details={
                    "recording_id": row.id,
                    "sha256": row.sha256,
                    "file_existed": existed,
                },
                at=now,
            )
    return report


def place_hold(
    s: Session, *, debtor_id: int, reason: str, actor: str, at: datetime, note: str = ""
) -> m.LegalHold:
    s.get_one(m.Debtor, debtor_id)
    hold = m.LegalHold(debtor_id=debtor_id, reason=reason, note=note, placed_by=actor, placed_at=at)
    s.add(hold)
    s.flush()
    append_audit(
        s,
        actor=actor,
        action="legal_hold_placed",
        debtor_id=debtor_id,
        reason=reason,
        details={"hold_id": hold.id, "note": note},
        at=at,
    )
    return hold


def release_holds(s: Session, *, debtor_id: int, actor: str, at: datetime) -> int:
    holds = s.scalars(
        select(m.LegalHold).where(
            m.LegalHold.debtor_id == debtor_id, m.LegalHold.released_at.is_(None)
        )
    ).all()
    for hold in holds:
        hold.released_at, hold.released_by = at, actor
        append_audit(
            s,
            actor=actor,
            action="legal_hold_released",
            debtor_id=debtor_id,
            reason=hold.reason,
            details={"hold_id": hold.id},
            at=at,
        )
    return len(holds)
