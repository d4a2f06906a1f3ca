"""The schema: migrations match the models, and the database itself guards the invariants."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, inspect, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from voicebot.storage import models as m
from voicebot.storage.db import make_engine


def test_migrations_create_exactly_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), m.Base.metadata)
    engine.dispose()
    assert diff == []


def seed(session: Session) -> tuple[m.Campaign, m.Debtor, m.Phone]:
    campaign = m.Campaign(name="c1", dialplan="cobranza_es", jurisdiction="CO", default_region="CO")
    debtor = m.Debtor(external_id="D1", full_name="Ana Pérez", document_id="1234")
    session.add_all([campaign, debtor])
    session.flush()
    phone = m.Phone(debtor_id=debtor.id, e164="+573101234567", kind="mobile")
    session.add(phone)
    session.add(
        m.Debt(
            debtor_id=debtor.id,
            external_ref="X1",
            creditor="Banco",
            amount=Decimal("1200000.50"),
            currency="COP",
        )
    )
    session.flush()
    return campaign, debtor, phone


def test_timestamps_come_back_aware_utc_and_money_exact(sessions: sessionmaker[Session]) -> None:
    bogota = timezone(timedelta(hours=-5))
    with sessions.begin() as s:
        campaign, debtor, phone = seed(s)
        attempt = m.CallAttempt(
            campaign_id=campaign.id,
            debtor_id=debtor.id,
            phone_id=phone.id,
            due_at=datetime(2026, 11, 23, 10, 0, tzinfo=bogota),
        )
        s.add(attempt)
    with sessions() as s:
        got = s.scalars(select(m.CallAttempt)).one()
        assert got.due_at == datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
        assert got.due_at.tzinfo is not None
        assert s.scalars(select(m.Debt.amount)).one() == Decimal("1200000.50")


def test_naive_datetimes_are_refused(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(Exception, match="naive datetime"), sessions.begin() as s:
        campaign, debtor, _ = seed(s)
        s.add(
            m.CallAttempt(campaign_id=campaign.id, debtor_id=debtor.id, due_at=datetime(2026, 1, 1))
        )


def test_one_live_attempt_per_debtor_is_a_database_rule(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        campaign, debtor, _ = seed(s)
        s.add(m.CallAttempt(campaign_id=campaign.id, debtor_id=debtor.id, status="in_call"))
        s.add(m.CallAttempt(campaign_id=campaign.id, debtor_id=debtor.id, status="queued"))
        s.add(m.CallAttempt(campaign_id=campaign.id, debtor_id=debtor.id, status="done"))
    with pytest.raises(IntegrityError), sessions.begin() as s:
        s.add(m.CallAttempt(campaign_id=campaign.id, debtor_id=debtor.id, status="claimed"))


def test_audit_log_is_append_only(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        s.add(m.AuditEntry(actor="worker-1", action="dial_allowed", reason="ok"))
    with pytest.raises(DBAPIError, match="append-only"), sessions.begin() as s:
        s.execute(update(m.AuditEntry).values(reason="tampered"))
    with pytest.raises(DBAPIError, match="append-only"), sessions.begin() as s:
        s.execute(delete(m.AuditEntry))
    with sessions() as s:
        assert s.scalars(select(m.AuditEntry.reason)).all() == ["ok"]


def test_the_alembic_command_line_downgrades_and_upgrades_again(db_url: str) -> None:
    """The ini at the repo root drives the same migrations an operator runs by hand."""
    root = Path(__file__).resolve().parents[2]

    def alembic(*args: str) -> str:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "alembic",
                "-c",
                str(root / "alembic.ini"),
                "-x",
                f"url={db_url}",
                *args,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    assert "(head)" in alembic("current")  # whatever the latest revision is
    alembic("downgrade", "base")
    engine = make_engine(db_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    alembic("upgrade", "head")
    assert "audit_log" in inspect(engine).get_table_names()
    engine.dispose()
    test_migrations_create_exactly_the_models(db_url)
