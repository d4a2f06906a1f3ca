"""Retention: only expired recordings of debtors not under a legal hold are purged, each audited."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from recording_world import CALL_START, seed_attempt, stored_recording
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voicebot.recording.retention import place_hold, purge_expired, release_holds
from voicebot.recording.store import LocalStore
from voicebot.storage import models as m


def test_purge_deletes_only_expired_unheld_files_and_audits_each(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """On SQLite and PostgreSQL (the ``sessions`` fixture runs both)."""
    store = LocalStore(tmp_path / "recordings")
    expired = stored_recording(sessions, store, seed_attempt(sessions, name="a"), retention_days=30)
    fresh = stored_recording(sessions, store, seed_attempt(sessions, name="b"), retention_days=730)
    held_debtor = seed_attempt(sessions, name="c")
    held = stored_recording(sessions, store, held_debtor, retention_days=30)
    disputed = stored_recording(
        sessions, store, seed_attempt(sessions, name="d", disputed=True), retention_days=30
    )
    with sessions.begin() as s:
        place_hold(s, debtor_id=held_debtor.debtor_id, reason="complaint", actor="t", at=CALL_START)
    now = CALL_START + timedelta(days=31)

    def keys() -> dict[int, str]:
        with sessions() as s:
            return {rid: key for rid, key in s.execute(select(m.Recording.id, m.Recording.key))}

    dry = purge_expired(sessions, store, now=now, actor="t", dry_run=True)
    assert dry.purged == [expired] and sorted(dry.held) == sorted([held, disputed])
    assert all(store.size(key) is not None for key in keys().values())  # a dry run deletes nothing

    report = purge_expired(sessions, store, now=now, actor="t")
    assert report.purged == [expired]
    files = keys()
    assert store.size(files[expired]) is None
    for kept in (fresh, held, disputed):
        assert store.size(files[kept]) is not None
    with sessions() as s:
        row = s.get_one(m.Recording, expired)
        assert row.status == "purged" and row.purged_at == now
        audits = s.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "recording_purged"))
        [audit] = audits.all()
        assert audit.details["recording_id"] == expired and audit.details["file_existed"]
        assert audit.debtor_id == row.debtor_id

    # Released: the complaint's recordings follow retention again; a rerun is idempotent.
    with sessions.begin() as s:
        assert release_holds(s, debtor_id=held_debtor.debtor_id, actor="t", at=now) == 1
    again = purge_expired(sessions, store, now=now, actor="t")
    assert again.purged == [held] and again.held == [disputed]
    with sessions() as s:
        actions = s.scalars(select(m.AuditEntry.action).order_by(m.AuditEntry.id)).all()
    assert actions == [
        "legal_hold_placed",
        "recording_purged",
        "legal_hold_released",
        "recording_purged",
    ]
