"""Webhook fixtures: a loopback receiver and outbox events written by the real storage code."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session, sessionmaker
from webhook_receiver import Receiver

from voicebot.domain.outcome import CallOutcome, Disposition, Promise
from voicebot.storage import models as m
from voicebot.storage.db import transaction
from voicebot.storage.repositories import record_dial_failure, record_outcome
from voicebot.telephony.carrier import DialFailure

SECRET = "whsec_test_8f3a1c"
# An hour ago: early enough to schedule retries in the past, near enough for real calls.
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(SECRET).start()
    yield r
    r.stop()


def write_outcomes(sessions: sessionmaker[Session], debtors: int = 4) -> None:
    """Finished calls of several kinds, each writing its outbox events in its own transaction."""
    kinds = [
        CallOutcome(
            Disposition.PTP,
            T0,
            T0 + timedelta(minutes=2),
            promise=Promise(Decimal(500000), "COP", date(2026, 11, 30)),
            right_party_contacted=True,
            disclosure_made=True,
        ),
        CallOutcome(Disposition.DNC, T0, T0 + timedelta(minutes=1), opt_out=True),
        CallOutcome(Disposition.DISP, T0, T0 + timedelta(minutes=1), dispute_reason="no es mía"),
        None,  # no answer
    ]
    with transaction(sessions) as s:
        campaign = m.Campaign(
            name="hooks", dialplan="cobranza_es", jurisdiction="CO", default_region="CO"
        )
        s.add(campaign)
        s.flush()
        campaign_id = campaign.id
    for i in range(debtors):
        with transaction(sessions) as s:
            debtor = m.Debtor(external_id=f"W{i}", full_name=f"Deudor {i}")
            s.add(debtor)
            s.flush()
            s.add(
                m.Debt(
                    debtor_id=debtor.id,
                    external_ref="R",
                    creditor="Banco",
                    amount=Decimal(900000),
                    currency="COP",
                )
            )
            attempt = m.CallAttempt(campaign_id=campaign_id, debtor_id=debtor.id, status="in_call")
            s.add(attempt)
            s.flush()
            outcome = kinds[i % len(kinds)]
            if outcome is None:
                record_dial_failure(
                    s,
                    attempt_id=attempt.id,
                    failure=DialFailure(Disposition.NA, 408, "ring timeout"),
                    actor="worker",
                    at=T0,
                )
            else:
                record_outcome(s, attempt_id=attempt.id, outcome=outcome, actor="worker")
