"""Inbound calls against a real database: the caller found there, the call stored like a dial.

Each call runs the shipped inbound dialplan on the text line through ``answer_inbound``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from voicebot.campaigns.compliance_facts import contact_history
from voicebot.campaigns.status import campaign_status
from voicebot.data import INBOUND_DIALPLAN
from voicebot.dialog.plan import Dialplan
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.domain.context import CallContext, Debtor
from voicebot.engine.inbound import InboundCall, answer_inbound
from voicebot.storage import models as m
from voicebot.storage.repositories import record_outcome
from voicebot.telephony.text_line import SimulatedClock, TextLine

TODAY = date(2026, 11, 23)
ANA = "+573101234567"
SHARED = "+573205550000"
STRANGER = "+573009998877"


@pytest.fixture(scope="module")
def plan() -> Dialplan:
    return load_dialplan(INBOUND_DIALPLAN)


def seed(s: Session) -> dict[str, int]:
    """Ana (own phone, a pending callback with its queued dial), Luis and Marta (one phone)."""
    campaign = m.Campaign(
        name="cartera-noviembre",
        dialplan="cobranza_es",
        jurisdiction="CO",
        default_region="CO",
        company="Gestión Integral de Cartera",
        callback_number="6015550100",
        limits={"min_payment": 400000, "max_days_ahead": 20},
    )
    s.add(campaign)
    ids: dict[str, int] = {}
    for key, name, document, phone, amount in (
        ("ana", "Ana Pérez Gómez", "52.111.234", ANA, 900000),
        ("luis", "Luis Mora Ruiz", "80-222-333", SHARED, 500000),
        ("marta", "Marta Ruiz Díaz", "41 555 666", SHARED, 700000),
    ):
        debtor = m.Debtor(
            external_id=key, full_name=name, document_id=document, timezone="America/Bogota"
        )
        s.add(debtor)
        s.flush()
        s.add(m.Phone(debtor_id=debtor.id, e164=phone, kind="mobile"))
        s.add(
            m.Debt(
                debtor_id=debtor.id,
                external_ref=f"{key}-1",
                creditor="Banco Andino",
                amount=Decimal(amount),
                currency="COP",
                days_past_due=40,
            )
        )
        s.add(m.CampaignDebtor(campaign_id=campaign.id, debtor_id=debtor.id))
        ids[key] = debtor.id
    s.flush()
    earlier = m.CallAttempt(
        campaign_id=campaign.id, debtor_id=ids["ana"], status="done", disposition="CB"
    )
    s.add(earlier)
    s.flush()
    callback_due = datetime(2026, 11, 24, 15, tzinfo=UTC)
    s.add(
        m.Callback(
            debtor_id=ids["ana"],
            campaign_id=campaign.id,
            source_attempt_id=earlier.id,
            due_at=callback_due,
            status="scheduled",
        )
    )
    s.add(
        m.CallAttempt(
            campaign_id=campaign.id, debtor_id=ids["ana"], kind="callback", due_at=callback_due
        )
    )
    ids["campaign"] = campaign.id
    return ids


@pytest.fixture
def ids(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions.begin() as s:
        return seed(s)


def answer(
    plan: Dialplan, sessions: sessionmaker[Session], caller: str, turns: list[str]
) -> InboundCall:
    clock = SimulatedClock(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))
    line = CallContext(
        debtor=Debtor(full_name=""),
        today=TODAY,
        company="Gestión Integral de Cartera",
        callback_number="6015550100",
    )
    return asyncio.run(
        answer_inbound(
            plan,
            TextLine.scripted(turns, clock=clock),
            caller=caller,
            sessions=sessions,
            line=line,
            clock=clock,
            actor="ivr-test",
        )
    )


def test_a_known_callers_promise_is_stored_as_an_inbound_call(
    plan: Dialplan, sessions: sessionmaker[Session], ids: dict[str, int]
) -> None:
    call = answer(plan, sessions, ANA, ["sí", "#1234", "#1", "pago todo el viernes", "sí"])
    assert call.outcome.disposition.value == "PTP"
    assert call.attempt_id is not None
    with sessions() as s:
        attempt = s.get_one(m.CallAttempt, call.attempt_id)
        assert (attempt.direction, attempt.kind, attempt.status) == ("inbound", "inbound", "done")
        assert attempt.caller_id == ANA and attempt.debtor_id == ids["ana"]
        assert attempt.phone_id is not None
        record = s.scalars(select(m.CallRecord).where(m.CallRecord.attempt_id == attempt.id)).one()
        assert record.direction == "inbound" and record.right_party and record.disclosure
        assert record.transcript[0]["prompt"] == "inbound_greeting"
        promise = s.scalars(select(m.PromiseToPay)).one()
        assert (promise.amount, promise.due_date) == (Decimal(900000), date(2026, 11, 27))
        event = s.scalars(
            select(m.OutboxEvent).where(m.OutboxEvent.idempotency_key == f"call:{attempt.id}")
        ).one()
        assert event.payload["direction"] == "inbound"
        assert event.payload["caller_id"] == ANA
        audit = s.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "call_completed")).one()
        assert audit.attempt_id == attempt.id and audit.reason == "PTP"
        # Follow-ups of the promise (reminder, check), never a retry dial.
        kinds = sorted(
            s.scalars(
                select(m.CallAttempt.kind).where(
                    m.CallAttempt.debtor_id == ids["ana"], m.CallAttempt.status == "queued"
                )
            )
        )
        assert kinds == ["check", "reminder"]


def test_the_call_settles_the_callback_owed_to_the_debtor(
    plan: Dialplan, sessions: sessionmaker[Session], ids: dict[str, int]
) -> None:
    call = answer(plan, sessions, ANA, ["sí", "#1234", "no gracias"])
    assert call.outcome.right_party_contacted
    with sessions() as s:
        callback = s.scalars(select(m.Callback)).one()
        assert callback.status == "done"
        dial = s.scalars(select(m.CallAttempt).where(m.CallAttempt.kind == "callback")).one()
        assert dial.status == "cancelled"
        assert dial.error == f"settled by inbound call {call.attempt_id}"
        settled = s.scalars(
            select(m.AuditEntry).where(m.AuditEntry.action == "callback_settled")
        ).one()
        assert settled.debtor_id == ids["ana"]


def test_the_pending_callback_is_acknowledged_to_the_caller(
    plan: Dialplan, sessions: sessionmaker[Session], ids: dict[str, int]
) -> None:
    call = answer(plan, sessions, ANA, ["sí", "#1234", "no gracias"])
    prompts = [t.prompt for t in call.outcome.transcript if t.speaker == "bot"]
    assert prompts == ["inbound_greeting", "verify_document", "pending_callback", "menu", "goodbye"]


def test_an_unverified_caller_does_not_settle_the_callback(
    plan: Dialplan, sessions: sessionmaker[Session], ids: dict[str, int]
) -> None:
    call = answer(plan, sessions, ANA, ["sí", "#0000", "#9999", "no"])
    assert not call.outcome.right_party_contacted and not call.outcome.disclosure_made
    with sessions() as s:
        assert s.scalars(select(m.Callback)).one().status == "scheduled"
        record = s.scalars(
            select(m.CallRecord).where(m.CallRecord.attempt_id == call.attempt_id)
        ).one()
        assert record.direction == "inbound" and not record.disclosure


def test_several_debtors_on_one_number_are_told_apart_by_a_punctuated_document(
    plan: Dialplan, sessions: sessionmaker[Session], ids: dict[str, int]
) -> None:
    call = answer(plan, sessions, SHARED, ["#41555666", "#3", "no"])
    assert call.debtor_ref == str(ids["marta"])
    says = [t.text for t in call.outcome.transcript if t.speaker == "bot"]
    assert "setecientos mil pesos" in says[2]
    with sessions() as s:
        attempt = s.get_one(m.CallAttempt, call.attempt_id)
        assert attempt.debtor_id == ids["marta"] and attempt.caller_id == SHARED


def test_an_unknown_number_identified_by_document_is_filed_under_the_debtor(
    plan: Dialplan, sessions: sessionmaker[Session], ids: dict[str, int]
) -> None:
    call = answer(plan, sessions, STRANGER, ["#80222333", "no"])
    with sessions() as s:
        attempt = s.get_one(m.CallAttempt, call.attempt_id)
        assert attempt.debtor_id == ids["luis"]
        assert attempt.phone_id is None and attempt.caller_id == STRANGER


def test_a_caller_never_identified_goes_to_the_audit_log_only(
    plan: Dialplan, sessions: sessionmaker[Session], ids: dict[str, int]
) -> None:
    call = answer(plan, sessions, STRANGER, ["#1", "#2", "no"])
    assert call.attempt_id is None
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(m.CallRecord)) == 0
        entry = s.scalars(
            select(m.AuditEntry).where(m.AuditEntry.action == "inbound_unidentified")
        ).one()
        assert entry.details["caller_id"] == STRANGER
        assert entry.debtor_id is None


def test_a_hang_up_mid_prompt_is_stored_without_a_retry(
    plan: Dialplan, sessions: sessionmaker[Session], ids: dict[str, int]
) -> None:
    call = answer(plan, sessions, ANA, ["<colgar>"])
    assert call.outcome.disposition.value == "DROP"
    with sessions() as s:
        attempt = s.get_one(m.CallAttempt, call.attempt_id)
        assert (attempt.status, attempt.disposition) == ("done", "DROP")
        queued = s.scalars(select(m.CallAttempt.kind).where(m.CallAttempt.status == "queued")).all()
        assert queued == ["callback"]  # the callback still owed; no retry of the drop


def test_reports_keep_inbound_calls_apart(
    plan: Dialplan, sessions: sessionmaker[Session], ids: dict[str, int]
) -> None:
    answer(plan, sessions, ANA, ["sí", "#1234", "#1", "pago todo el viernes", "sí"])
    with sessions.begin() as s:
        outbound = m.CallAttempt(
            campaign_id=ids["campaign"], debtor_id=ids["luis"], status="in_call"
        )
        s.add(outbound)
        s.flush()
    from voicebot.domain.outcome import CallOutcome, Disposition

    start = datetime(2026, 11, 23, 16, tzinfo=UTC)
    with sessions.begin() as s:
        record_outcome(
            s,
            attempt_id=outbound.id,
            outcome=CallOutcome(Disposition.NA, start, start + timedelta(seconds=30)),
            actor="worker",
        )
    with sessions() as s:
        status = campaign_status(s, campaign_id=ids["campaign"])
    assert status["kpis"]["by_disposition"] == {"CB": 1, "NA": 1}  # the earlier CB and the NA
    assert status["kpis"]["promises"] == 0
    assert status["inbound"]["by_disposition"] == {"PTP": 1}
    assert status["inbound"]["promises"] == 1
    assert status["inbound"]["promised_amount"] == {"COP": 900000.0}
    assert status["inbound"]["right_party_contacts"] == 1


def test_contact_history_marks_the_debtors_own_calls(
    plan: Dialplan, sessions: sessionmaker[Session], ids: dict[str, int]
) -> None:
    answer(plan, sessions, ANA, ["sí", "#1234", "no"])
    with sessions() as s:
        history = contact_history(s, ids["ana"])
    inbound = [p for p in history if p.debtor_initiated]
    assert len(inbound) == 1 and inbound[0].conversation and inbound[0].phone == ANA


def test_a_us_campaigns_caller_hears_the_debt_collector_notice(
    plan: Dialplan, sessions: sessionmaker[Session], ids: dict[str, int]
) -> None:
    with sessions.begin() as s:
        s.get_one(m.Campaign, ids["campaign"]).jurisdiction = "US"
    call = answer(plan, sessions, ANA, ["sí", "#1234", "no gracias"])
    prompts = [t.prompt for t in call.outcome.transcript if t.speaker == "bot"]
    assert prompts[:3] == ["inbound_greeting", "verify_document", "mini_miranda"]
