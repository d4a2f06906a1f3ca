"""Texts from debtors: an opt-out keyword ends texts through that channel; anything else is
kept on the debtor's history for an agent to read.

Keywords are matched on the normalised text (case, accents and punctuation dropped) so
"No más", "NO MAS!" and "baja." all count; a phrase asking not to be written to anywhere in
the text counts too. Erring toward an opt-out is the safe side: a missed STOP is a
violation, an extra one costs one channel.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from voicebot.campaigns.compliance import default_rules, jurisdictions_for
from voicebot.messaging.twilio_messages import InboundText
from voicebot.storage import models as m
from voicebot.storage.repositories import append_audit, record_opt_out

KEYWORDS = frozenset(
    {
        "stop",
        "stopall",
        "unsubscribe",
        "cancel",
        "end",
        "quit",
        "baja",
        "no mas",
        "alto",
        "cancelar",
        "darme de baja",
    }
)
PHRASES = re.compile(r"\b(no me (escriban|escribas|envien|manden) mas|no me (escriban|escribas))\b")


def normalize(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w\s]", " ", plain).split())


def is_opt_out(body: str) -> bool:
    text = normalize(body)
    return text in KEYWORDS or bool(PHRASES.search(text))


def _debtors_of(s: Session, sender: str) -> list[m.Debtor]:
    """Every debtor whose record holds this number, most recently added first: a STOP from a
    shared number stops texts to that number for all of them (the safe side)."""
    return list(
        s.scalars(
            select(m.Debtor)
            .join(m.Phone, m.Phone.debtor_id == m.Debtor.id)
            .where(m.Phone.e164 == sender)
            .order_by(m.Debtor.id.desc())
        )
    )


def _stops_calls(s: Session, debtor: m.Debtor, sender: str) -> bool:
    campaigns = s.scalars(
        select(m.Campaign.jurisdiction)
        .join(m.CampaignDebtor, m.CampaignDebtor.campaign_id == m.Campaign.id)
        .where(m.CampaignDebtor.debtor_id == debtor.id)
    )
    rules = default_rules()
    codes = {
        code
        for jurisdiction in campaigns
        for code in jurisdictions_for(jurisdiction, debtor.region, debtor.subdivision, sender)
    }
    return any(rules[c].text_opt_out_stops_calls for c in codes if c in rules)


def receive(s: Session, text: InboundText, *, now: datetime, actor: str) -> m.InboundMessage:
    """Store one inbound text once (Twilio retries carry the same MessageSid) and act on it."""
    seen = s.scalar(
        select(m.InboundMessage).where(m.InboundMessage.provider_id == text.provider_id)
    )
    if seen is not None:
        return seen
    debtors = _debtors_of(s, text.sender)
    debtor = debtors[0] if debtors else None
    action = "unknown_sender" if debtor is None else "stored"
    if debtor is not None and is_opt_out(text.body):
        action = "opt_out"
    for holder in debtors if action == "opt_out" else []:
        record_opt_out(
            s,
            debtor_id=holder.id,
            source="message",
            actor=actor,
            reason=f"replied {text.body.strip()[:60]!r} by {text.channel}",
            phone=text.sender,
            channel=text.channel,
            at=now,
        )
        if _stops_calls(s, holder, text.sender):
            record_opt_out(
                s,
                debtor_id=holder.id,
                source="message",
                actor=actor,
                reason=f"a text opt-out also stops calls here ({text.channel})",
                phone=text.sender,
                at=now,
            )
    row = m.InboundMessage(
        provider_id=text.provider_id,
        debtor_id=debtor.id if debtor else None,
        channel=text.channel,
        sender=text.sender,
        body=text.body,
        action=action,
        received_at=now,
    )
    s.add(row)
    s.flush()
    append_audit(
        s,
        actor=actor,
        action="message_received",
        debtor_id=debtor.id if debtor else None,
        reason=action,
        details={"inbound_id": row.id, "channel": text.channel},
        at=now,
    )
    return row
