"""May this text go to this debtor now? The dialer's rules, asked for a text channel.

The same ``compliance.check`` judges a dial and a text: the channel is one of the facts,
so hours, holidays, caps, authorised channels, the Colombian one-channel-a-week rule and
US consent for automated texts to cell phones all apply, and every text already sent
counts in the history a later dial or text is judged on.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from voicebot.campaigns.compliance import Decision, DialFacts, check, jurisdictions_for
from voicebot.campaigns.compliance_facts import contact_history, opt_out_query
from voicebot.storage import models as m


def message_facts(s: Session, message: m.Message) -> DialFacts:
    debtor = s.get_one(m.Debtor, message.debtor_id)
    campaign = s.get_one(m.Campaign, message.campaign_id)
    phone = s.scalar(
        select(m.Phone).where(m.Phone.debtor_id == debtor.id, m.Phone.e164 == message.to)
    )
    statuses = set(s.scalars(select(m.Debt.status).where(m.Debt.debtor_id == debtor.id)))
    channels = debtor.authorized_channels
    return DialFacts(
        jurisdictions=jurisdictions_for(
            campaign.jurisdiction, debtor.region, debtor.subdivision, message.to
        ),
        phone_e164=message.to,
        timezone=debtor.timezone,
        phone_kind=phone.kind if phone else "unknown",
        opted_out=s.scalar(opt_out_query(debtor.id, message.to, message.channel).limit(1))
        is not None,
        disputed="disputed" in statuses and "active" not in statuses,
        # A number not on the debtor's record is nobody we may text.
        phone_invalid=phone is None or phone.status != "valid",
        tcpa_consent=debtor.tcpa_consent,
        subdivision=debtor.subdivision or None,
        authorized_channels=tuple(str(c) for c in channels) if channels is not None else None,
        channel=message.channel,
    )


def may_send(s: Session, message: m.Message, now: datetime) -> tuple[Decision, DialFacts]:
    facts = message_facts(s, message)
    return check(facts, contact_history(s, message.debtor_id), now), facts
