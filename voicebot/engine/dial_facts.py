"""What compliance is told about one dial: the debtor's facts and their past attempts.

Kept apart from the dialer so the rules' inputs can grow without touching the worker
loop. The reading itself lives in ``voicebot.campaigns.compliance_facts``: the audit
replay (a business rule, below the engine) asks the same question for a past instant.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from voicebot.campaigns.compliance import DialFacts, PastAttempt
from voicebot.campaigns.compliance_facts import gather
from voicebot.storage import models as m


def dial_facts(s: Session, attempt: m.CallAttempt) -> tuple[DialFacts, list[PastAttempt]]:
    """The facts and every earlier contact (this service's and reported ones) as they are now."""
    return gather(s, attempt)
