"""What an outcome sets in motion: retries per disposition, the debtor's callback, reminders.

Runs in the transaction that records the outcome, so a follow-up exists exactly when
its outcome does.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voicebot.followups.payment_link import LinkError
from voicebot.followups.policy import MessagingPolicy, PolicyError, read_policy
from voicebot.followups.queueing import queue_payment_link, queue_reminder
from voicebot.followups.texts import TextsError
from voicebot.storage import models as m
from voicebot.storage.repositories import append_audit

DEFAULT_RETRY: dict[str, dict[str, int]] = {
    # disposition → delay before the next attempt, and attempts allowed in total
    "NA": {"delay_minutes": 120, "max_attempts": 4},
    "BUSY": {"delay_minutes": 20, "max_attempts": 4},
    "VM": {"delay_minutes": 240, "max_attempts": 3},
    "DROP": {"delay_minutes": 60, "max_attempts": 3},
    "FAIL": {"delay_minutes": 30, "max_attempts": 3},  # tried on the debtor's next phone
}
REMINDER_HOUR = 10


def schedule_follow_ups(
    s: Session, *, attempt_id: int, now: datetime, retries: bool = True
) -> None:
    """Retries per disposition, the debtor's callback, promise reminders and checks.

    ``retries=False`` (an inbound call: the debtor called us) queues no retry dial.
    """
    attempt = s.get_one(m.CallAttempt, attempt_id)
    campaign = s.get_one(m.Campaign, attempt.campaign_id)
    disposition = attempt.disposition or ""
    policy = {**DEFAULT_RETRY, **(campaign.retry_policy or {})}
    debtor = s.get_one(m.Debtor, attempt.debtor_id)
    zone = ZoneInfo(debtor.timezone) if debtor.timezone else UTC

    def queue(kind: str, due: datetime, phone_id: int | None) -> None:
        s.add(
            m.CallAttempt(
                campaign_id=attempt.campaign_id,
                debtor_id=attempt.debtor_id,
                phone_id=phone_id,
                kind=kind,
                due_at=due,
                priority=attempt.priority,
                number=attempt.number + 1,
            )
        )

    if retries and disposition in policy:
        rule: dict[str, Any] = policy[disposition]
        made = (
            s.scalar(
                select(func.count())
                .select_from(m.CallAttempt)
                .where(
                    m.CallAttempt.campaign_id == attempt.campaign_id,
                    m.CallAttempt.debtor_id == attempt.debtor_id,
                    m.CallAttempt.status == "done",
                )
            )
            or 0
        )
        if made < int(rule.get("max_attempts", 3)):
            phone_id = attempt.phone_id
            if disposition == "FAIL":
                phone_id = _next_phone(s, attempt)
            if phone_id is not None:
                queue(
                    "retry", now + timedelta(minutes=int(rule.get("delay_minutes", 60))), phone_id
                )
    callback = s.scalar(select(m.Callback).where(m.Callback.source_attempt_id == attempt_id))
    if callback is not None and callback.status == "pending":
        queue("callback", callback.due_at, attempt.phone_id)
        callback.status = "scheduled"
    promise = s.scalar(select(m.PromiseToPay).where(m.PromiseToPay.attempt_id == attempt_id))
    if promise is not None:
        texts = _policy(s, campaign)
        reminder = _local_at(promise.due_date - timedelta(days=1), zone)
        if reminder > now and texts.reminder_call:
            queue("reminder", reminder, attempt.phone_id)
        queue("check", _local_at(promise.due_date + timedelta(days=1), zone), attempt.phone_id)
        _queue_texts(s, promise, texts, now)


def _policy(s: Session, campaign: m.Campaign) -> MessagingPolicy:
    """The campaign's messaging policy; a bad one (checked when set) means calls only."""
    try:
        return read_policy(campaign.messaging)
    except PolicyError as exc:
        append_audit(
            s,
            actor="follow-ups",
            action="messaging_policy_invalid",
            campaign_id=campaign.id,
            reason=str(exc),
        )
        return MessagingPolicy()


def _queue_texts(
    s: Session, promise: m.PromiseToPay, texts: MessagingPolicy, now: datetime
) -> None:
    """The link the debtor asked for and the reminder text; a failure here never costs the
    outcome being recorded: it is audited and the texts are not queued."""
    try:
        with s.begin_nested():
            if texts.sends and promise.link_requested == texts.channel:
                queue_payment_link(s, promise, now=now, actor="follow-ups")
            queue_reminder(s, promise, now=now, actor="follow-ups")
    except (TextsError, LinkError, PolicyError) as exc:
        append_audit(
            s,
            actor="follow-ups",
            action="message_not_queued",
            debtor_id=promise.debtor_id,
            campaign_id=promise.campaign_id,
            attempt_id=promise.attempt_id,
            reason=str(exc),
        )


def _local_at(day: date, zone: ZoneInfo | Any) -> datetime:
    return datetime.combine(day, time(REMINDER_HOUR), tzinfo=zone)


def _next_phone(s: Session, attempt: m.CallAttempt) -> int | None:
    tried = select(m.CallAttempt.phone_id).where(m.CallAttempt.debtor_id == attempt.debtor_id)
    return s.scalar(
        select(m.Phone.id)
        .where(
            m.Phone.debtor_id == attempt.debtor_id,
            m.Phone.status == "valid",
            m.Phone.id.not_in(tried),
        )
        .order_by(m.Phone.priority)
        .limit(1)
    )
