"""May this text go to this debtor now? The dialer's rules, asked for a text channel.

The same ``compliance.check`` judges a dial and a text: the channel is one of the facts,
so hours, holidays, caps, authorised channels, the Colombian one-channel-a-week rule and
US consent for automated texts to cell phones all apply, and every text already sent
counts in the history a later dial or text is judged on.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from voicebot.campaigns.compliance import Decision, DialFacts, check
from voicebot.campaigns.compliance_facts import text_facts
from voicebot.storage import models as m


def message_facts(s: Session, message: m.Message) -> DialFacts:
    return text_facts(s, message)[0]


def may_send(s: Session, message: m.Message, now: datetime) -> tuple[Decision, DialFacts]:
    facts, history = text_facts(s, message)
    return check(facts, history, now), facts
