"""A debtor who promised on a call, recorded by the real storage and follow-up code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from voicebot.domain.outcome import CallOutcome, Disposition, Promise
from voicebot.engine.follow_ups import schedule_follow_ups
from voicebot.storage import models as m
from voicebot.storage.db import transaction
from voicebot.storage.repositories import record_outcome

SECRET = "link-secret-for-tests-0001"
LINK = "https://pagos.example.com/p/{token}"


@dataclass(frozen=True)
class Promised:
    campaign_id: int
    debtor_id: int
    promise_id: int
    phone: str


def promised(
    sessions: sessionmaker[Session],
    *,
    call_ended: datetime,
    due: date,
    jurisdiction: str = "PE",
    phone: str = "+51987654321",
    zone: str = "America/Lima",
    messaging: dict[str, Any] | None = None,
    right_party: bool = True,
    link_requested: str | None = "sms",
    name: str = "c",
    campaign_id: int | None = None,
    **debtor: Any,
) -> Promised:
    """Campaign (or ``campaign_id``'s), debtor with one phone and one debt, a call that
    ended in a promise."""
    policy = {
        "channel": "sms",
        "link_template": LINK,
        "link_secret": SECRET,
        "reminder": "message",
    }
    policy.update(messaging or {})
    with transaction(sessions) as s:
        campaign = s.get(m.Campaign, campaign_id) if campaign_id else None
        campaign = campaign or m.Campaign(
            name=name,
            dialplan="cobranza_es",
            jurisdiction=jurisdiction,
            default_region=jurisdiction[:2],
            status="running",
            company="Cobranzas Andinas",
            callback_number="+5116001234",
            messaging=policy,
        )
        person = m.Debtor(
            external_id=f"D-{name}", full_name="Ana María Quispe", timezone=zone, **debtor
        )
        s.add_all([campaign, person])
        s.flush()
        s.add(m.CampaignDebtor(campaign_id=campaign.id, debtor_id=person.id))
        line = m.Phone(debtor_id=person.id, e164=phone, kind="mobile")
        s.add(line)
        s.add(
            m.Debt(
                debtor_id=person.id,
                external_ref=f"CR-{name}",
                creditor="Banco del Sur",
                amount=Decimal("900000"),
                currency="PEN",
            )
        )
        s.flush()
        attempt = m.CallAttempt(
            campaign_id=campaign.id,
            debtor_id=person.id,
            phone_id=line.id,
            status="in_call",
            started_at=call_ended - timedelta(minutes=3),
        )
        s.add(attempt)
        s.flush()
        outcome = CallOutcome(
            Disposition.PTP,
            call_ended - timedelta(minutes=3),
            call_ended,
            promise=Promise(Decimal("150000"), "PEN", due, link_requested=link_requested),
            right_party_contacted=right_party,
            disclosure_made=right_party,
        )
        record_outcome(s, attempt_id=attempt.id, outcome=outcome, actor="worker", at=call_ended)
        s.flush()
        schedule_follow_ups(s, attempt_id=attempt.id, now=call_ended)
        promise = s.query(m.PromiseToPay).filter_by(attempt_id=attempt.id).one()
        return Promised(campaign.id, person.id, promise.id, phone)


def messages(sessions: sessionmaker[Session], debtor_id: int) -> list[m.Message]:
    with sessions() as s:
        rows = list(s.query(m.Message).filter_by(debtor_id=debtor_id).order_by(m.Message.id))
        s.expunge_all()
        return rows


def audit(sessions: sessionmaker[Session], action: str) -> list[m.AuditEntry]:
    with sessions() as s:
        rows = list(s.query(m.AuditEntry).filter_by(action=action).order_by(m.AuditEntry.id))
        s.expunge_all()
        return rows
