"""A finished call is written once, atomically: outcome, promise, opt-out, audit, outbox."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from voicebot.data import DEFAULT_DIALPLAN
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.domain.outcome import CallOutcome, Disposition
from voicebot.engine.call_loop import run_call
from voicebot.storage import models as m
from voicebot.storage.repositories import (
    call_context,
    is_opted_out,
    record_dial_failure,
    record_outcome,
)
from voicebot.telephony.carrier import DialFailure
from voicebot.telephony.text_line import SimulatedClock, TextLine

TODAY = date(2026, 11, 23)


def seed_attempt(s: Session) -> int:
    campaign = m.Campaign(
        name="demo",
        dialplan="cobranza_es",
        jurisdiction="CO",
        default_region="CO",
        company="Gestión Integral de Cartera",
        limits={"min_payment": 400000, "max_days_ahead": 20},
    )
    debtor = m.Debtor(
        external_id="D1",
        full_name="Ana Pérez Gómez",
        document_id="52.111.234",
        timezone="America/Bogota",
    )
    s.add_all([campaign, debtor])
    s.flush()
    phone = m.Phone(debtor_id=debtor.id, e164="+573101234567", kind="mobile")
    s.add(phone)
    s.add(
        m.Debt(
            debtor_id=debtor.id,
            external_ref="T1",
            creditor="Banco Andino",
            amount=Decimal(900000),
            currency="COP",
            days_past_due=40,
        )
    )
    s.flush()
    attempt = m.CallAttempt(
        campaign_id=campaign.id, debtor_id=debtor.id, phone_id=phone.id, status="in_call"
    )
    s.add(attempt)
    s.flush()
    return attempt.id


def play(sessions: sessionmaker[Session], attempt_id: int, turns: list[str]) -> CallOutcome:
    with sessions() as s:
        ctx = call_context(s, attempt_id=attempt_id, today=TODAY)
    plan = load_dialplan(DEFAULT_DIALPLAN)
    clock = SimulatedClock(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))
    return asyncio.run(run_call(plan, ctx, TextLine.scripted(turns, clock=clock), clock=clock))


def test_promise_call_is_persisted_with_its_events(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        attempt_id = seed_attempt(s)
    outcome = play(sessions, attempt_id, ["sí, soy yo", "1234", "pago todo el viernes", "sí"])
    assert outcome.disposition is Disposition.PTP
    with sessions.begin() as s:
        record_outcome(s, attempt_id=attempt_id, outcome=outcome, actor="worker-1")
    with sessions() as s:
        attempt = s.get_one(m.CallAttempt, attempt_id)
        assert (attempt.status, attempt.disposition) == ("done", "PTP")
        promise = s.scalars(select(m.PromiseToPay)).one()
        assert (promise.amount, promise.due_date, promise.currency) == (
            Decimal(900000),
            date(2026, 11, 27),
            "COP",
        )
        record = s.scalars(select(m.CallRecord)).one()
        assert record.right_party and record.disclosure
        assert record.transcript[0]["speaker"] == "bot"
        events = sorted(s.scalars(select(m.OutboxEvent.idempotency_key)).all())
        assert events == [f"call:{attempt_id}", f"promise:{attempt_id}"]
        assert s.scalar(select(func.count()).select_from(m.AuditEntry)) == 1


def test_writing_the_same_outcome_twice_changes_nothing(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        attempt_id = seed_attempt(s)
    outcome = play(sessions, attempt_id, ["no me vuelvan a llamar"])
    for _ in range(2):
        with sessions.begin() as s:
            record_outcome(s, attempt_id=attempt_id, outcome=outcome, actor="worker-1")
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(m.CallRecord)) == 1
        assert s.scalar(select(func.count()).select_from(m.OptOut)) == 1
        assert s.scalar(select(func.count()).select_from(m.OutboxEvent)) == 2  # call + opt-out
        debtor_id = s.get_one(m.CallAttempt, attempt_id).debtor_id
        assert is_opted_out(s, debtor_id=debtor_id)


def test_a_failed_write_leaves_nothing_half_done(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        attempt_id = seed_attempt(s)
    outcome = play(sessions, attempt_id, ["número equivocado"])
    try:
        with sessions.begin() as s:
            record_outcome(s, attempt_id=attempt_id, outcome=outcome, actor="worker-1")
            raise RuntimeError("worker died before commit")
    except RuntimeError:
        pass
    with sessions() as s:
        assert s.get_one(m.CallAttempt, attempt_id).status == "in_call"
        assert s.scalar(select(func.count()).select_from(m.CallRecord)) == 0
        assert s.scalars(select(m.Phone.status)).one() == "valid"
    with sessions.begin() as s:
        record_outcome(s, attempt_id=attempt_id, outcome=outcome, actor="worker-2")
    with sessions() as s:
        assert s.scalars(select(m.Phone.status)).one() == "invalid"


def test_dial_failure_is_recorded_once(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        attempt_id = seed_attempt(s)
    now = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    for _ in range(2):
        with sessions.begin() as s:
            record_dial_failure(
                s,
                attempt_id=attempt_id,
                failure=DialFailure(Disposition.BUSY, 486, "Busy Here"),
                actor="worker-1",
                at=now,
            )
    with sessions() as s:
        attempt = s.get_one(m.CallAttempt, attempt_id)
        assert (attempt.disposition, attempt.error) == ("BUSY", "486 Busy Here")
        assert s.scalar(select(func.count()).select_from(m.OutboxEvent)) == 1


def test_a_call_the_line_dropped_keeps_its_outcome_and_why(
    sessions: sessionmaker[Session],
) -> None:
    """A line that died (no RTP, no BYE) keeps what the dialog settled (an opt-out) and why."""
    with sessions.begin() as s:
        attempt_id = seed_attempt(s)
    settled = play(sessions, attempt_id, ["no me vuelvan a llamar"])
    dropped = replace(settled, line_reason="rtp_timeout")
    with sessions.begin() as s:
        record_outcome(s, attempt_id=attempt_id, outcome=dropped, actor="worker-1")
    with sessions() as s:
        attempt = s.get_one(m.CallAttempt, attempt_id)
        assert attempt.error == "rtp_timeout"
        assert attempt.disposition == settled.disposition.value
        assert is_opted_out(s, debtor_id=attempt.debtor_id)
