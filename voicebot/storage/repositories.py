"""Keyword-only functions over a Session: the only way the service writes what matters.

``record_outcome`` is the heart: a finished call becomes, in ONE transaction, the
attempt's completion, the outcome row, the promise, the callback, the opt-out,
the audit entries and the webhook outbox events — and doing it twice (a worker
retrying after a crash) changes nothing the second time.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from voicebot.domain.context import DEFAULT_COMPANY, CallContext, Debt, Debtor, NegotiationLimits
from voicebot.domain.outcome import CallOutcome, Disposition, Promise
from voicebot.storage import models as m
from voicebot.telephony.carrier import DialFailure


def append_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    debtor_id: int | None = None,
    campaign_id: int | None = None,
    attempt_id: int | None = None,
    rule: str = "",
    reason: str = "",
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> m.AuditEntry:
    """Add one entry to the append-only audit log (there is no update or delete path)."""
    entry = m.AuditEntry(
        actor=actor,
        action=action,
        debtor_id=debtor_id,
        campaign_id=campaign_id,
        attempt_id=attempt_id,
        rule=rule,
        reason=reason,
        details=details or {},
    )
    if at is not None:
        entry.at = at
    session.add(entry)
    return entry


def enqueue_event(
    session: Session, *, event_type: str, idempotency_key: str, payload: dict[str, Any]
) -> None:
    """Queue a webhook in the caller's transaction; a key already queued is not queued again."""
    exists = session.scalar(
        select(m.OutboxEvent.id).where(m.OutboxEvent.idempotency_key == idempotency_key)
    )
    if exists is None:
        session.add(
            m.OutboxEvent(event_type=event_type, idempotency_key=idempotency_key, payload=payload)
        )


def record_opt_out(
    session: Session,
    *,
    debtor_id: int,
    source: str,
    actor: str,
    reason: str = "",
    phone: str | None = None,
    attempt_id: int | None = None,
    at: datetime | None = None,
    channel: str | None = None,
) -> m.OptOut:
    """``channel`` None: every channel; "sms"/"whatsapp": texts through that channel only."""
    opt_out = m.OptOut(
        debtor_id=debtor_id,
        phone=phone,
        source=source,
        reason=reason,
        attempt_id=attempt_id,
        channel=channel,
    )
    if at is not None:
        opt_out.created_at = at
    session.add(opt_out)
    session.flush()
    append_audit(
        session,
        actor=actor,
        action="opt_out_recorded",
        debtor_id=debtor_id,
        attempt_id=attempt_id,
        reason=reason or source,
        at=at,
    )
    enqueue_event(
        session,
        event_type="opt_out.recorded",
        idempotency_key=f"opt_out:{opt_out.id}",
        payload={
            "debtor_id": debtor_id,
            "source": source,
            "reason": reason,
            "phone": phone,
            # Only a text opt-out names its channel; an opt-out of everything reads as before.
            **({"channel": channel} if channel else {}),
        },
    )
    return opt_out


def is_opted_out(session: Session, *, debtor_id: int, phone: str | None = None) -> bool:
    """Opted out of calls on every number, or on ``phone`` (an opt-out of one number blocks
    only it); without ``phone``: any opt-out of calls at all. A text-only opt-out (an
    inbound STOP) does not stop calls."""
    query = select(m.OptOut.id).where(
        m.OptOut.debtor_id == debtor_id,
        or_(m.OptOut.channel.is_(None), m.OptOut.channel == "voice"),
    )
    if phone is not None:
        query = query.where(or_(m.OptOut.phone.is_(None), m.OptOut.phone == phone))
    return session.scalar(query.limit(1)) is not None


def record_promise(session: Session, *, attempt: m.CallAttempt, promise: Promise) -> m.PromiseToPay:
    """The debtor's promise, once per attempt (mid-call, then again with the outcome)."""
    existing = session.scalar(select(m.PromiseToPay).where(m.PromiseToPay.attempt_id == attempt.id))
    if existing is not None:
        if promise.link_requested is not None:  # the answer to the link offer, after the promise
            existing.link_requested = promise.link_requested
        return existing
    row = m.PromiseToPay(
        debtor_id=attempt.debtor_id,
        campaign_id=attempt.campaign_id,
        attempt_id=attempt.id,
        amount=promise.amount,
        currency=promise.currency,
        due_date=promise.due,
        instalments=promise.instalments,
        partial=promise.partial,
        link_requested=promise.link_requested,
    )
    session.add(row)
    enqueue_event(
        session,
        event_type="promise.created",
        idempotency_key=f"promise:{attempt.id}",
        payload={**_event_base(attempt), **promise.to_json()},
    )
    return row


def record_call_opt_out(
    session: Session, *, attempt: m.CallAttempt, actor: str, at: datetime | None = None
) -> None:
    """The debtor said stop on this call: recorded once, the moment it is known."""
    exists = session.scalar(
        select(m.OptOut.id).where(m.OptOut.attempt_id == attempt.id, m.OptOut.source == "call")
    )
    if exists is None:
        record_opt_out(
            session,
            debtor_id=attempt.debtor_id,
            source="call",
            actor=actor,
            reason="debtor asked not to be called",
            attempt_id=attempt.id,
            at=at,
        )


def mark_phone_invalid(
    session: Session, *, attempt: m.CallAttempt, actor: str, at: datetime | None = None
) -> None:
    """A wrong party answered: that phone is not the debtor's (once)."""
    if attempt.phone_id is None:
        return
    phone = session.get_one(m.Phone, attempt.phone_id)
    if phone.status == "invalid":
        return
    phone.status = "invalid"
    phone.invalid_reason = "wrong party on call"
    append_audit(
        session,
        actor=actor,
        action="phone_marked_invalid",
        debtor_id=attempt.debtor_id,
        attempt_id=attempt.id,
        reason="wrong party contact",
        at=at,
    )


def mark_disputed(session: Session, *, attempt: m.CallAttempt) -> None:
    """The debtor disputes the debt: no collection call until it is resolved (idempotent)."""
    session.execute(
        update(m.Debt).where(m.Debt.debtor_id == attempt.debtor_id).values(status="disputed")
    )


def _event_base(attempt: m.CallAttempt) -> dict[str, Any]:
    return {
        "attempt_id": attempt.id,
        "campaign_id": attempt.campaign_id,
        "debtor_id": attempt.debtor_id,
        "direction": attempt.direction or "outbound",
    }


def _recording_of(session: Session, attempt_id: int) -> str | None:
    """``store:key`` of the call's recording: stored and fsynced before the outcome commits."""
    found = session.execute(
        select(m.Recording.store, m.Recording.key)
        .where(
            m.Recording.attempt_id == attempt_id, m.Recording.status.in_(("complete", "partial"))
        )
        .order_by(m.Recording.id.desc())  # the try that reached an outcome is the last one
        .limit(1)
    ).first()
    return f"{found[0]}:{found[1]}" if found is not None else None


def _call_record(
    attempt: m.CallAttempt, outcome: CallOutcome, recording: str | None = None
) -> m.CallRecord:
    return m.CallRecord(
        attempt_id=attempt.id,
        campaign_id=attempt.campaign_id,
        debtor_id=attempt.debtor_id,
        disposition=outcome.disposition.value,
        right_party=outcome.right_party_contacted,
        disclosure=outcome.disclosure_made,
        opt_out=outcome.opt_out,
        phone_invalid=outcome.phone_invalid,
        transfer_reason=outcome.transfer_reason,
        callback_at=outcome.callback_at,
        dispute_reason=outcome.dispute_reason,
        paid_info=outcome.paid_info,
        final_state=outcome.final_state,
        transcript=[t.to_json() for t in outcome.transcript],
        recording_path=recording,
        started_at=outcome.started_at,
        ended_at=outcome.ended_at,
        direction=attempt.direction or "outbound",
    )


def record_outcome(
    session: Session,
    *,
    attempt_id: int,
    outcome: CallOutcome,
    actor: str,
    at: datetime | None = None,
) -> m.CallRecord:
    """Persist a finished call atomically and idempotently (see the module docstring).

    ``at`` is the dialer's clock when the call ended, so every audit row of one dial
    shares its time base.
    """
    existing = session.scalar(select(m.CallRecord).where(m.CallRecord.attempt_id == attempt_id))
    if existing is not None:
        return existing
    attempt = session.get_one(m.CallAttempt, attempt_id)
    attempt.status = "done"
    attempt.disposition = outcome.disposition.value
    attempt.started_at = attempt.started_at or outcome.started_at
    attempt.ended_at = outcome.ended_at
    attempt.lease_expires_at = None
    attempt.error = outcome.line_reason or attempt.error
    record = _call_record(attempt, outcome, _recording_of(session, attempt_id))
    session.add(record)
    base = _event_base(attempt)
    if outcome.promise is not None:
        record_promise(session, attempt=attempt, promise=outcome.promise)
    if outcome.callback_at is not None:
        session.add(
            m.Callback(
                debtor_id=attempt.debtor_id,
                campaign_id=attempt.campaign_id,
                source_attempt_id=attempt_id,
                due_at=outcome.callback_at,
            )
        )
    if outcome.opt_out:
        record_call_opt_out(session, attempt=attempt, actor=actor, at=at)
    if outcome.phone_invalid:
        mark_phone_invalid(session, attempt=attempt, actor=actor, at=at)
    if outcome.disposition is Disposition.DISP:
        mark_disputed(session, attempt=attempt)
        enqueue_event(
            session,
            event_type="dispute.recorded",
            idempotency_key=f"dispute:{attempt_id}",
            payload={**base, "reason": outcome.dispute_reason},
        )
    append_audit(
        session,
        actor=actor,
        action="call_completed",
        debtor_id=attempt.debtor_id,
        campaign_id=attempt.campaign_id,
        attempt_id=attempt_id,
        reason=outcome.disposition.value,
        details={
            "disclosure": outcome.disclosure_made,
            "right_party": outcome.right_party_contacted,
        },
        at=at,
    )
    enqueue_event(
        session,
        event_type="call.completed",
        idempotency_key=f"call:{attempt_id}",
        payload={**base, **{k: v for k, v in outcome.to_json().items() if k != "transcript"}},
    )
    session.flush()
    return record


def record_dial_failure(
    session: Session, *, attempt_id: int, failure: DialFailure, actor: str, at: datetime
) -> None:
    """An attempt that never reached a conversation (NA, BUSY, FAIL, VM)."""
    attempt = session.get_one(m.CallAttempt, attempt_id)
    if attempt.status == "done":
        return
    attempt.status = "done"
    attempt.disposition = failure.disposition.value
    attempt.ended_at = at
    attempt.lease_expires_at = None
    attempt.error = f"{failure.status or ''} {failure.reason}".strip()
    append_audit(
        session,
        actor=actor,
        action="call_failed",
        debtor_id=attempt.debtor_id,
        campaign_id=attempt.campaign_id,
        attempt_id=attempt_id,
        reason=f"{failure.disposition.value} {attempt.error}".strip(),
        at=at,
    )
    enqueue_event(
        session,
        event_type="call.completed",
        idempotency_key=f"call:{attempt_id}",
        payload={
            "attempt_id": attempt_id,
            "campaign_id": attempt.campaign_id,
            "debtor_id": attempt.debtor_id,
            "disposition": failure.disposition.value,
            "status": failure.status,
            "reason": failure.reason,
        },
    )


def call_context(
    session: Session, *, attempt_id: int, today: date, timezone: str | None = None
) -> CallContext:
    """The facts a dialog needs for one attempt: debtor, open debts, the campaign's terms.

    ``timezone`` is the zone compliance resolved (from the debtor or the phone's region).
    """
    attempt = session.get_one(m.CallAttempt, attempt_id)
    debtor = session.get_one(m.Debtor, attempt.debtor_id)
    campaign = session.get_one(m.Campaign, attempt.campaign_id)
    return debtor_call_context(debtor, campaign, today=today, timezone=timezone)


def debtor_call_context(
    debtor: m.Debtor, campaign: m.Campaign, *, today: date, timezone: str | None = None
) -> CallContext:
    """The dialog's facts about ``debtor`` on ``campaign``'s terms (outbound or inbound)."""
    debts = tuple(
        Debt(
            creditor=d.creditor,
            amount=d.amount,
            currency=d.currency,
            days_past_due=d.days_past_due,
            product=d.product,
        )
        for d in debtor.debts
        if d.status == "active"
    )
    limits = campaign.limits or {}
    return CallContext(
        debtor=Debtor(
            full_name=debtor.full_name,
            document_id=debtor.document_id,
            timezone=timezone or debtor.timezone or "UTC",
            debts=debts,
            gender=debtor.gender,
        ),
        today=today,
        company=campaign.company or DEFAULT_COMPANY,
        callback_number=campaign.callback_number,
        limits=NegotiationLimits(
            min_payment=Decimal(str(limits.get("min_payment", 0))),
            max_days_ahead=int(limits.get("max_days_ahead", 30)),
            max_instalments=int(limits.get("max_instalments", 6)),
            min_instalment=Decimal(str(limits.get("min_instalment", 0))),
        ),
        settings=dict(campaign.settings or {}),
        debtor_ref=str(debtor.id),
    )
