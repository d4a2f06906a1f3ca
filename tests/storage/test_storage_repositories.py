"""Repositories other than the outcome write-back: opt-outs, audit, outbox, call context."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voicebot.domain.context import NegotiationLimits
from voicebot.storage import models as m
from voicebot.storage.repositories import (
    append_audit,
    call_context,
    enqueue_event,
    is_opted_out,
    record_opt_out,
)


def seed(s: Session) -> tuple[int, int, int]:
    """A campaign, a debtor with one active and one paid debt, and a queued attempt."""
    campaign = m.Campaign(
        name="repos",
        dialplan="cobranza_es",
        jurisdiction="PE",
        default_region="PE",
        company="Servicios Andinos",
        callback_number="+5115550000",
        limits={"min_payment": "150.50", "max_days_ahead": 10, "max_instalments": 3},
        settings={"offer_instalments": False},
    )
    debtor = m.Debtor(external_id="P1", full_name="Rosa Quispe", document_id="4455", gender="f")
    s.add_all([campaign, debtor])
    s.flush()
    s.add_all(
        [
            m.Debt(
                debtor_id=debtor.id,
                external_ref="A",
                creditor="Caja Sur",
                amount=Decimal("820.40"),
                currency="PEN",
                days_past_due=33,
            ),
            m.Debt(
                debtor_id=debtor.id,
                external_ref="B",
                creditor="Caja Sur",
                amount=Decimal(100),
                currency="PEN",
                status="paid",
            ),
        ]
    )
    attempt = m.CallAttempt(campaign_id=campaign.id, debtor_id=debtor.id)
    s.add(attempt)
    s.flush()
    return campaign.id, debtor.id, attempt.id


def test_an_opt_out_is_audited_and_announced_in_the_same_transaction(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        _, debtor_id, _ = seed(s)
        assert not is_opted_out(s, debtor_id=debtor_id)
        record_opt_out(
            s, debtor_id=debtor_id, source="api", actor="crm", reason="asked by email", phone=None
        )
    with sessions() as s:
        assert is_opted_out(s, debtor_id=debtor_id)
        audit = s.scalars(select(m.AuditEntry)).one()
        assert (audit.action, audit.actor, audit.debtor_id, audit.reason) == (
            "opt_out_recorded",
            "crm",
            debtor_id,
            "asked by email",
        )
        event = s.scalars(select(m.OutboxEvent)).one()
        assert event.event_type == "opt_out.recorded"
        assert event.payload == {
            "debtor_id": debtor_id,
            "source": "api",
            "reason": "asked by email",
            "phone": None,
        }
        assert event.delivered_at is None and event.attempts == 0


def test_an_opt_out_that_fails_to_commit_leaves_no_trace(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        _, debtor_id, _ = seed(s)
    try:
        with sessions.begin() as s:
            record_opt_out(s, debtor_id=debtor_id, source="call", actor="worker-1")
            raise RuntimeError("worker died before commit")
    except RuntimeError:
        pass
    with sessions() as s:
        assert not is_opted_out(s, debtor_id=debtor_id)
        assert s.scalars(select(m.AuditEntry)).all() == []
        assert s.scalars(select(m.OutboxEvent)).all() == []


def test_an_event_key_is_queued_once(sessions: sessionmaker[Session]) -> None:
    for amount in (1, 2):
        with sessions.begin() as s:
            enqueue_event(
                s, event_type="promise.created", idempotency_key="promise:7", payload={"n": amount}
            )
    with sessions() as s:
        assert [e.payload for e in s.scalars(select(m.OutboxEvent))] == [{"n": 1}]


def test_audit_entries_keep_their_instant_in_utc_and_their_order(
    sessions: sessionmaker[Session],
) -> None:
    lima = timezone(timedelta(hours=-5))
    with sessions.begin() as s:
        campaign_id, debtor_id, attempt_id = seed(s)
        append_audit(
            s,
            actor="dialer",
            action="dial_refused",
            debtor_id=debtor_id,
            campaign_id=campaign_id,
            attempt_id=attempt_id,
            rule="PE.hours",
            reason="outside 07:00-20:00",
            details={"next": "2026-11-24T12:00:00+00:00"},
            at=datetime(2026, 11, 23, 21, 5, tzinfo=lima),
        )
        append_audit(s, actor="dialer", action="dial_allowed", debtor_id=debtor_id)
    with sessions() as s:
        entries = s.scalars(select(m.AuditEntry).order_by(m.AuditEntry.id)).all()
        assert [e.action for e in entries] == ["dial_refused", "dial_allowed"]
        refused = entries[0]
        assert refused.at == datetime(2026, 11, 24, 2, 5, tzinfo=UTC)
        assert (refused.rule, refused.details) == (
            "PE.hours",
            {"next": "2026-11-24T12:00:00+00:00"},
        )
        assert entries[1].at.tzinfo is not None


def test_call_context_carries_open_debts_and_the_campaign_terms(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        _, _, attempt_id = seed(s)
    with sessions() as s:
        ctx = call_context(
            s, attempt_id=attempt_id, today=date(2026, 11, 23), timezone="America/Lima"
        )
    assert ctx.debtor.full_name == "Rosa Quispe" and ctx.debtor.gender == "f"
    assert ctx.debtor.timezone == "America/Lima"
    assert [(d.amount, d.currency, d.days_past_due) for d in ctx.debtor.debts] == [
        (Decimal("820.40"), "PEN", 33)
    ]
    assert (ctx.company, ctx.callback_number) == ("Servicios Andinos", "+5115550000")
    assert ctx.limits == NegotiationLimits(
        min_payment=Decimal("150.50"), max_days_ahead=10, max_instalments=3
    )
    assert ctx.settings == {"offer_instalments": False}
