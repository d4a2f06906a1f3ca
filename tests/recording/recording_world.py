"""A migrated SQLite database with one campaign, debtors and attempts to record calls against."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from voicebot.recording.store import RecordingStore, new_key
from voicebot.recording.writer import RecordingWriter
from voicebot.storage import models as m
from voicebot.storage.db import make_engine, session_factory, upgrade

CALL_START = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@dataclass
class Seeded:
    campaign_id: int
    debtor_id: int
    attempt_id: int


def migrated_sessions(tmp_path: Path) -> sessionmaker[Session]:
    url = f"sqlite:///{tmp_path / 'recordings.sqlite3'}"
    upgrade(url)
    return session_factory(make_engine(url))


def seed_attempt(
    sessions: sessionmaker[Session],
    *,
    name: str = "rec",
    jurisdiction: str = "CO",
    region: str = "CO",
    recording_policy: dict[str, object] | None = None,
    status: str = "dialing",
    disputed: bool = False,
    e164: str | None = None,
) -> Seeded:
    """A campaign (found or made), a new debtor with a phone and a debt, one live attempt."""
    with sessions.begin() as s:
        campaign = s.query(m.Campaign).filter_by(name=f"campaign-{jurisdiction}").one_or_none()
        if campaign is None:
            campaign = m.Campaign(
                name=f"campaign-{jurisdiction}",
                dialplan="cobranza_es",
                status="running",
                jurisdiction=jurisdiction,
                default_region=jurisdiction,
                recording_policy=recording_policy or {},
            )
            s.add(campaign)
            s.flush()
        debtor = m.Debtor(external_id=name, full_name="Ana Pérez Gómez", region=region)
        s.add(debtor)
        s.flush()
        phone = m.Phone(debtor_id=debtor.id, e164=e164 or f"+5730011{debtor.id:05d}")
        s.add(phone)
        s.add(
            m.Debt(
                debtor_id=debtor.id,
                external_ref=f"{name}-1",
                creditor="Banco Andino",
                amount=Decimal("900000"),
                currency="COP",
                status="disputed" if disputed else "active",
            )
        )
        s.flush()
        attempt = m.CallAttempt(
            campaign_id=campaign.id,
            debtor_id=debtor.id,
            phone_id=phone.id,
            status=status,
            started_at=CALL_START,
        )
        s.add(attempt)
        s.flush()
        return Seeded(campaign.id, debtor.id, attempt.id)


def stored_recording(
    sessions: sessionmaker[Session],
    store: RecordingStore,
    seeded: Seeded,
    *,
    seconds: float = 2.0,
    retention_days: int = 730,
    started_at: datetime = CALL_START,
) -> int:
    """A finished recording of ``seeded``'s call (a real two-channel FLAC), as the recorder leaves it."""
    key = new_key(started_at)
    writer = RecordingWriter(store.spool_path(key))
    rng = np.random.default_rng(seeded.attempt_id)
    for _ in range(int(seconds * 50)):
        writer.write(
            rng.normal(0, 2000, 160).astype(np.int16), rng.normal(0, 2000, 160).astype(np.int16)
        )
    facts = writer.close()
    store.commit(key)
    with sessions.begin() as s:
        row = m.Recording(
            attempt_id=seeded.attempt_id,
            campaign_id=seeded.campaign_id,
            debtor_id=seeded.debtor_id,
            store=store.name,
            key=key,
            status="complete",
            channels=["bot", "far_end"],
            size_bytes=facts.size_bytes,
            sha256=facts.sha256,
            duration_ms=facts.duration_ms,
            retention_days=retention_days,
            retention_rule="test",
            started_at=started_at,
            ended_at=started_at + timedelta(seconds=seconds),
            retain_until=started_at + timedelta(days=retention_days),
        )
        s.add(row)
        s.flush()
        return row.id
