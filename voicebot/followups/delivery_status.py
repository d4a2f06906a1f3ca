"""Delivery statuses from the provider, stored on the message and its history.

Twilio posts each status as it happens but not necessarily in order (a ``sent`` may
arrive after ``delivered``), so the message keeps the furthest status reached and every
report is kept as an event. A callback is matched by the provider's id or, for a text
whose send answer was lost (``unknown``), by the message id the callback URL carries.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from voicebot.messaging.twilio_messages import StatusReport
from voicebot.storage import models as m

RANK = {
    "pending": 0,
    "claimed": 1,
    "unknown": 1,
    "accepted": 2,
    "scheduled": 2,
    "queued": 3,
    "sending": 4,
    "sent": 5,
    "delivered": 6,
    "undelivered": 6,
    "failed": 6,
    "canceled": 6,
    "read": 7,
}


def record_status(
    s: Session, report: StatusReport, *, message_id: int | None, now: datetime
) -> m.Message | None:
    """Store one status report; None when it names no message of ours (answer 2xx anyway)."""
    message = s.scalar(select(m.Message).where(m.Message.provider_id == report.provider_id))
    if message is None and message_id is not None:
        candidate = s.get(m.Message, message_id)
        if candidate is not None and candidate.provider_id in (None, report.provider_id):
            message = candidate
            message.provider_id = report.provider_id
    if message is None:
        return None
    s.add(
        m.MessageStatusEvent(
            message_id=message.id, status=report.status, error_code=report.error_code, at=now
        )
    )
    if RANK.get(report.status, 0) >= RANK.get(message.status, 0):
        message.status, message.status_at = report.status, now
        if report.error_code:
            message.last_error = f"provider error {report.error_code}"
    return message
