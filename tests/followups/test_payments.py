"""Payments from the creditor: matched to promises, partials, kept, broken, requeued."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from followups_world import audit, messages, promised
from sqlalchemy.orm import Session, sessionmaker

from voicebot.campaigns.status import campaign_status
from voicebot.followups.payments import (
    ImportReport,
    PaymentsError,
    break_overdue,
    import_payments,
    parse_payments,
)
from voicebot.storage import models as m
from voicebot.storage.db import transaction

CALL_ENDED = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
DUE = date(2026, 11, 27)
HEADER = "payment_id,debt_ref,amount,currency,paid_on\n"


def _import(sessions: sessionmaker[Session], text: str, now: datetime = CALL_ENDED) -> ImportReport:
    with transaction(sessions) as s:
        return import_payments(s, parse_payments(text), source="pagos.csv", actor="t", now=now)


def _promise(sessions: sessionmaker[Session], promise_id: int) -> m.PromiseToPay:
    with sessions() as s:
        row = s.get_one(m.PromiseToPay, promise_id)
        s.expunge(row)
        return row


def test_a_partial_payment_then_the_rest_keeps_the_promise_and_stops_its_follow_ups(
    sessions: sessionmaker[Session],
) -> None:
    world = promised(sessions, call_ended=CALL_ENDED, due=DUE)
    first = _import(sessions, HEADER + "P1,CR-c,50000,PEN,2026-11-25\n")
    assert (first.imported, first.partial, first.kept) == (1, 1, [])
    assert _promise(sessions, world.promise_id).status == "pending"
    second = _import(
        sessions, HEADER + "P1,CR-c,50000,PEN,2026-11-25\nP2,CR-c,100000.00,PEN,2026-11-26\n"
    )
    assert (second.imported, second.already_imported, second.kept) == (1, 1, [world.promise_id])
    promise = _promise(sessions, world.promise_id)
    assert (promise.status, promise.paid_amount) == ("kept", Decimal("150000.00"))
    with sessions() as s:
        queued = {
            a.kind: a.status for a in s.query(m.CallAttempt).filter_by(debtor_id=world.debtor_id)
        }
        event = s.query(m.OutboxEvent).filter_by(idempotency_key=f"promise_kept:{promise.id}").one()
    assert queued["check"] == "canceled"
    assert {x.kind: x.status for x in messages(sessions, world.debtor_id)}["reminder"] == "canceled"
    assert event.payload["paid_amount"] == "150000.00"
    assert len(audit(sessions, "promise_partly_paid")) == 1


def test_a_bad_file_imports_nothing_and_names_every_bad_line(
    sessions: sessionmaker[Session],
) -> None:
    world = promised(sessions, call_ended=CALL_ENDED, due=DUE)
    text = (
        HEADER
        + "P1,CR-c,150000,PEN,2026-11-25\n"
        + "P2,CR-c,-5,PEN,2026-11-25\n"
        + "P3,CR-c,10,PEN,25/11/2026\n"
        + "P1,CR-c,10,PEN,2026-11-25\n"
        + "P4,CR-c,1.234,PEN,2026-11-25\n"
    )
    with pytest.raises(PaymentsError) as caught:
        parse_payments(text)
    assert caught.value.problems == [
        "line 3: amount '-5' must be positive",
        "line 4: paid_on '25/11/2026' is not a date (YYYY-MM-DD)",
        "line 5: payment_id 'P1' repeats line 2",
        "line 6: amount '1.234' has more than two decimals",
    ]
    with pytest.raises(PaymentsError) as unknown:
        _import(
            sessions,
            HEADER
            + "P1,CR-c,150000,PEN,2026-11-25\nP2,NOPE,5,PEN,2026-11-25\nP3,CR-c,5,USD,2026-11-25\n",
        )
    assert unknown.value.problems == [
        "line 3: no debt with reference 'NOPE'",
        "line 4: currency USD but the debt is in PEN",
    ]
    with sessions() as s:
        assert s.query(m.Payment).count() == 0
    assert _promise(sessions, world.promise_id).status == "pending"
    with pytest.raises(PaymentsError, match="line 1: missing columns currency"):
        parse_payments("payment_id,debt_ref,amount,paid_on\n")


def test_a_broken_promise_puts_the_debtor_back_in_the_hopper(
    sessions: sessionmaker[Session],
) -> None:
    world = promised(sessions, call_ended=CALL_ENDED, due=DUE)
    _import(sessions, HEADER + "P1,CR-c,50000,PEN,2026-11-26\n")
    with transaction(sessions) as s:  # the check call already happened
        s.query(m.CallAttempt).filter_by(debtor_id=world.debtor_id, kind="check").update(
            {"status": "done", "disposition": "NA"}
        )
    # Saturday 28 in Lima: within the day of grace, nothing is broken yet.
    with transaction(sessions) as s:
        assert break_overdue(s, now=datetime(2026, 11, 28, 20, 0, tzinfo=UTC), actor="t") == []
    sunday = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
    with transaction(sessions) as s:
        assert break_overdue(s, now=sunday, actor="t") == [world.promise_id]
    with transaction(sessions) as s:
        assert break_overdue(s, now=sunday + timedelta(hours=1), actor="t") == []
    with sessions() as s:
        requeued = (
            s.query(m.CallAttempt).filter_by(debtor_id=world.debtor_id, kind="broken_promise").one()
        )
        broken = (
            s.query(m.OutboxEvent)
            .filter_by(idempotency_key=f"promise_broken:{world.promise_id}")
            .one()
        )
    assert (requeued.status, requeued.due_at) == ("queued", sunday)
    assert broken.payload["paid_amount"] == "50000.00"
    assert _promise(sessions, world.promise_id).status == "broken"
    assert "50000.00 of 150000.00 PEN" in audit(sessions, "promise_broken")[0].reason


def test_the_campaigns_kpis_count_kept_broken_recovered_and_texts(
    sessions: sessionmaker[Session],
) -> None:
    kept = promised(sessions, call_ended=CALL_ENDED, due=DUE, name="k")
    promised(sessions, call_ended=CALL_ENDED, due=DUE, name="b", phone="+51987650000")
    _import(sessions, HEADER + "P1,CR-k,150000,PEN,2026-11-26\n")
    with transaction(sessions) as s:
        break_overdue(s, now=datetime(2026, 11, 29, 15, 0, tzinfo=UTC), actor="t")
        s.query(m.Message).filter_by(kind="payment_link").update({"status": "delivered"})
    with sessions() as s:
        kpis = campaign_status(s, campaign_id=kept.campaign_id)["kpis"]
        other = campaign_status(s, campaign_id=kept.campaign_id + 1)["kpis"]
    assert {k: kpis[k] for k in ("promises_kept", "promises_broken", "kept_rate")} == {
        "promises_kept": 1,
        "promises_broken": 0,
        "kept_rate": 1.0,
    }
    assert kpis["recovered_amount"] == {"PEN": 150000.0} and kpis["messages_sent"] == 1
    assert (other["promises_broken"], other["kept_rate"], other["recovered_amount"]) == (1, 0.0, {})


def test_the_follow_up_kpis_per_segment_show_which_segments_keep_their_promises(
    sessions: sessionmaker[Session],
) -> None:
    kept = promised(sessions, call_ended=CALL_ENDED, due=DUE, name="k", segment="preventiva")
    for name, phone in (("b", "+51987650000"), ("p", "+51987650001")):
        promised(
            sessions,
            call_ended=CALL_ENDED,
            due=DUE,
            name=name,
            phone=phone,
            segment="castigada",
            campaign_id=kept.campaign_id,
        )
    # One castigada debtor pays half: partial, then broken; the other pays nothing.
    _import(sessions, HEADER + "P1,CR-k,150000,PEN,2026-11-26\nP2,CR-p,75000,PEN,2026-11-26\n")
    with transaction(sessions) as s:
        assert len(break_overdue(s, now=datetime(2026, 11, 29, 15, 0, tzinfo=UTC), actor="t")) == 2
    with sessions() as s:
        status = campaign_status(s, campaign_id=kept.campaign_id)
    fields = ("promises_kept", "promises_broken", "kept_rate", "recovered_amount")
    preventiva = {k: status["by_segment"]["preventiva"][k] for k in fields}
    castigada = {k: status["by_segment"]["castigada"][k] for k in fields}
    assert preventiva == {
        "promises_kept": 1,
        "promises_broken": 0,
        "kept_rate": 1.0,
        "recovered_amount": {"PEN": 150000.0},
    }
    assert castigada == {
        "promises_kept": 0,
        "promises_broken": 2,
        "kept_rate": 0.0,
        "recovered_amount": {"PEN": 75000.0},
    }
    # The segments add up to the campaign-wide figures.
    assert status["kpis"]["promises_broken"] == 2
    assert status["kpis"]["recovered_amount"] == {"PEN": 225000.0}
    assert status["kpis"]["messages_sent"] == 0
    assert status["by_segment"]["castigada"]["messages_sent"] == 0
