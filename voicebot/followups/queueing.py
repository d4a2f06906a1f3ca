"""What to text a debtor after a promise, and when: the payment link and the reminder.

Runs inside the transaction that records what caused the message (the promise, the
debtor's request), so a message exists exactly when its cause does; the idempotency key
(``payment_link:<promise>``, ``reminder:<promise>``) makes a second request a no-op. The text
is rendered now, with the facts as they are now, so what was sent is what is stored.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from voicebot.followups.payment_link import PaymentClaim, payment_url
from voicebot.followups.policy import MessagingPolicy, read_policy
from voicebot.followups.texts import load_texts, render, written_amount, written_date
from voicebot.storage import models as m
from voicebot.storage.repositories import append_audit


def _zone(debtor: m.Debtor) -> ZoneInfo:
    return ZoneInfo(debtor.timezone) if debtor.timezone else ZoneInfo("UTC")


def _local(day: date, hour: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)


def _verified_phone(s: Session, promise: m.PromiseToPay) -> tuple[str, bool]:
    """The number the promise was made on, and whether the right party was verified there."""
    attempt = s.get_one(m.CallAttempt, promise.attempt_id)
    phone = s.get(m.Phone, attempt.phone_id) if attempt.phone_id else None
    record = s.scalar(select(m.CallRecord).where(m.CallRecord.attempt_id == attempt.id))
    return (phone.e164 if phone else ""), bool(record and record.right_party)


def _link(policy: MessagingPolicy, s: Session, promise: m.PromiseToPay, now: datetime) -> str:
    debtor = s.get_one(m.Debtor, promise.debtor_id)
    if not policy.link_template or not debtor.debts:
        return ""
    debt = next((d for d in debtor.debts if d.status == "active"), debtor.debts[0])
    expires = _local(
        promise.due_date + timedelta(days=policy.link_days_after_due + 1), 0, _zone(debtor)
    )
    claim = PaymentClaim(debt.external_ref, promise.amount, promise.currency, expires, promise.id)
    return payment_url(policy.link_template, claim, policy.link_secret, now=now)


def _queue(
    s: Session,
    *,
    promise: m.PromiseToPay,
    policy: MessagingPolicy,
    kind: str,
    due: datetime,
    send_by: datetime,
    now: datetime,
    actor: str,
) -> m.Message | None:
    key = f"{kind}:{promise.id}"
    existing = s.scalar(select(m.Message).where(m.Message.idempotency_key == key))
    if existing is not None:
        return existing
    debtor = s.get_one(m.Debtor, promise.debtor_id)
    campaign = s.get_one(m.Campaign, promise.campaign_id)
    to, verified = _verified_phone(s, promise)
    if not to:
        append_audit(
            s,
            actor=actor,
            action="message_not_queued",
            debtor_id=debtor.id,
            campaign_id=campaign.id,
            reason=f"{kind}: the promise has no phone number",
        )
        return None
    texts = load_texts(policy.language)
    link = _link(policy, s, promise, now)
    text_kind = kind if link or kind != "reminder" else "reminder_no_link"
    if not verified:
        # The right party was never verified on this number: nothing about the debt.
        text_kind = "contact_request"
    text = texts.get(text_kind)
    values = {
        "company": campaign.company,
        "callback_number": campaign.callback_number,
        "debtor.first_name": debtor.full_name.split()[0] if debtor.full_name else "",
        "debtor.full_name": debtor.full_name,
        "promise.amount": written_amount(promise.amount, promise.currency, policy.language),
        "promise.date": written_date(promise.due_date, policy.language),
        "payment_link": link,
        "creditor": debtor.debts[0].creditor if debtor.debts else "",
        "debt.amount": written_amount(
            sum((d.amount for d in debtor.debts if d.status == "active"), Decimal(0)),
            promise.currency,
            policy.language,
        ),
    }
    template = policy.whatsapp_templates.get(text_kind) if policy.channel == "whatsapp" else None
    message = m.Message(
        template_sid=str(template["sid"]) if template else "",
        template_variables=(
            {str(i): values[str(name)] for i, name in enumerate(template["variables"], start=1)}
            if template
            else {}
        ),
        idempotency_key=key,
        debtor_id=debtor.id,
        campaign_id=campaign.id,
        promise_id=promise.id,
        kind=kind,
        channel=policy.channel,
        to=to,
        body=render(text, values),
        discloses=text.discloses,
        next_attempt_at=due,
        send_by=send_by,
        created_at=now,
    )
    s.add(message)
    s.flush()
    append_audit(
        s,
        actor=actor,
        action="message_queued",
        debtor_id=debtor.id,
        campaign_id=campaign.id,
        attempt_id=promise.attempt_id,
        details={
            "message_id": message.id,
            "kind": kind,
            "text": text_kind,
            "channel": policy.channel,
        },
        at=now,
    )
    return message


def queue_payment_link(
    s: Session, promise: m.PromiseToPay, *, now: datetime, actor: str
) -> m.Message | None:
    """The payment link the debtor asked for, now; useless (dropped) after the promise date."""
    campaign = s.get_one(m.Campaign, promise.campaign_id)
    policy = read_policy(campaign.messaging)
    if not policy.sends:
        return None
    zone = _zone(s.get_one(m.Debtor, promise.debtor_id))
    return _queue(
        s,
        promise=promise,
        policy=policy,
        kind="payment_link",
        due=now,
        send_by=_local(promise.due_date + timedelta(days=1), 0, zone),
        now=now,
        actor=actor,
    )


def queue_reminder(
    s: Session, promise: m.PromiseToPay, *, now: datetime, actor: str
) -> m.Message | None:
    """The day before the promise at the campaign's hour; it must leave before the date."""
    campaign = s.get_one(m.Campaign, promise.campaign_id)
    policy = read_policy(campaign.messaging)
    if not policy.reminder_message:
        return None
    zone = _zone(s.get_one(m.Debtor, promise.debtor_id))
    due = _local(promise.due_date - timedelta(days=1), policy.reminder_hour, zone)
    send_by = _local(promise.due_date, 0, zone)
    if send_by <= now:
        return None
    return _queue(
        s,
        promise=promise,
        policy=policy,
        kind="reminder",
        due=max(due, now),
        send_by=send_by,
        now=now,
        actor=actor,
    )


def queue_broken_notice(
    s: Session, promise: m.PromiseToPay, *, now: datetime, send_within: timedelta, actor: str
) -> m.Message | None:
    """The text that comes first after a broken promise; stale once the call it precedes is due."""
    campaign = s.get_one(m.Campaign, promise.campaign_id)
    policy = read_policy(campaign.messaging)
    if not policy.sends:
        return None
    return _queue(
        s,
        promise=promise,
        policy=policy,
        kind="broken_promise",
        due=now,
        send_by=now + max(send_within, timedelta(hours=1)),
        now=now,
        actor=actor,
    )
