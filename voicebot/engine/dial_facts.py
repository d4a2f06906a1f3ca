"""What compliance is told about one dial: the debtor's facts and their past attempts.

Kept apart from the dialer so the rules' inputs can grow (new facts, new history
readings) without touching the worker loop.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from voicebot.campaigns.compliance import DialFacts, PastAttempt, phone_country
from voicebot.domain.outcome import Disposition
from voicebot.storage import models as m

CONTACTS = {d.value for d in Disposition if d.is_human_contact} - {Disposition.DROP.value}


def dial_facts(s: Session, attempt: m.CallAttempt) -> tuple[DialFacts, list[PastAttempt]]:
    debtor = s.get_one(m.Debtor, attempt.debtor_id)
    campaign = s.get_one(m.Campaign, attempt.campaign_id)
    phone = s.get(m.Phone, attempt.phone_id) if attempt.phone_id else None
    e164 = phone.e164 if phone else ""
    jurisdictions = [campaign.jurisdiction]
    for code in (debtor.region[:2] if debtor.region else "", phone_country(e164) or ""):
        if code and code not in jurisdictions and code in ("CO", "CL", "MX", "PE", "US"):
            jurisdictions.append(code)
    opted_out = (
        s.scalar(select(m.OptOut.id).where(m.OptOut.debtor_id == debtor.id).limit(1)) is not None
    )
    statuses = set(s.scalars(select(m.Debt.status).where(m.Debt.debtor_id == debtor.id)))
    rows = s.execute(
        select(m.CallAttempt.started_at, m.CallAttempt.disposition, m.CallRecord.right_party)
        .outerjoin(m.CallRecord, m.CallRecord.attempt_id == m.CallAttempt.id)
        .where(
            m.CallAttempt.debtor_id == debtor.id,
            m.CallAttempt.started_at.is_not(None),
            m.CallAttempt.id != attempt.id,
        )
    ).all()
    history = [
        PastAttempt(at=started, contact=(disposition in CONTACTS), conversation=bool(right_party))
        for started, disposition, right_party in rows
        if started is not None
    ]
    facts = DialFacts(
        jurisdictions=tuple(jurisdictions),
        phone_e164=e164,
        timezone=debtor.timezone,
        phone_kind=phone.kind if phone else "unknown",
        opted_out=opted_out,
        disputed="disputed" in statuses and "active" not in statuses,
        phone_invalid=phone is None or phone.status != "valid",
        tcpa_consent=debtor.tcpa_consent,
    )
    return facts, history
