"""Inbound calls in the store: who a caller may be, and the call once it has ended.

A debtor calls on the terms of the campaign that holds them most recently. An identified
caller's call is an attempt like a dial (direction ``inbound``, kind ``inbound``), recorded by
``record_outcome`` with its outcome, transcript, audit entry and webhook; it settles the
debtor's pending callback when the right party was reached. A caller never identified has no
debtor to file the call under: it goes to the audit log with its caller ID and disposition.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import String, func, literal_column, select, update
from sqlalchemy.orm import Session, sessionmaker

from voicebot.dialog.callers import document_digits
from voicebot.domain.context import CallContext, PendingPromise
from voicebot.domain.outcome import CallOutcome
from voicebot.storage import models as m
from voicebot.storage.repositories import append_audit, debtor_call_context, record_outcome

INBOUND = "inbound"
PENDING_CALLBACK = ("pending", "scheduled")


def _campaign_of(s: Session, debtor_id: int) -> m.Campaign | None:
    """The campaign whose terms an inbound call is served on: the latest that holds the debtor."""
    return s.scalar(
        select(m.Campaign)
        .join(m.CampaignDebtor, m.CampaignDebtor.campaign_id == m.Campaign.id)
        .where(m.CampaignDebtor.debtor_id == debtor_id)
        .order_by(m.CampaignDebtor.added_at.desc(), m.Campaign.id.desc())
        .limit(1)
    )


Law = Callable[[str], Mapping[str, Any]]  # jurisdiction → dialplan settings the law imposes


def no_law(jurisdiction: str) -> Mapping[str, Any]:
    return {}


def inbound_context(
    s: Session, debtor: m.Debtor, *, today: date, law: Law = no_law
) -> CallContext | None:
    """The debtor's call context with what is pending (a promise, a callback); None: no campaign.

    ``law`` gives what the campaign's jurisdiction makes every call say (US: the debt-collector
    notice), as the dialer applies it to a dial.
    """
    campaign = _campaign_of(s, debtor.id)
    if campaign is None:
        return None
    ctx = debtor_call_context(debtor, campaign, today=today)
    ctx = replace(ctx, settings={**ctx.settings, **law(campaign.jurisdiction)})
    promise = s.scalar(
        select(m.PromiseToPay)
        .where(m.PromiseToPay.debtor_id == debtor.id, m.PromiseToPay.status == "pending")
        .order_by(m.PromiseToPay.due_date.desc(), m.PromiseToPay.id.desc())
        .limit(1)
    )
    callback = s.scalar(
        select(m.Callback)
        .where(m.Callback.debtor_id == debtor.id, m.Callback.status.in_(PENDING_CALLBACK))
        .order_by(m.Callback.due_at)
        .limit(1)
    )
    pending = None
    if promise is not None:
        pending = PendingPromise(
            promise.amount, promise.currency, promise.due_date, promise.instalments
        )
    return replace(
        ctx,
        pending_promise=pending,
        pending_callback=callback.due_at if callback is not None else None,
    )


def caller_contexts(
    s: Session, caller_id: str, *, today: date, law: Law = no_law
) -> tuple[CallContext, ...]:
    """The debtors whose phone is ``caller_id`` (E.164), each on their campaign's terms."""
    on_number = select(m.Phone.debtor_id).where(m.Phone.e164 == caller_id)
    debtors = s.scalars(select(m.Debtor).where(m.Debtor.id.in_(on_number)).order_by(m.Debtor.id))
    found = (inbound_context(s, d, today=today, law=law) for d in debtors)
    return tuple(c for c in found if c is not None)


class StoredDirectory:
    """The debtor directory over the database: a document's digits, whatever its punctuation."""

    def __init__(self, sessions: sessionmaker[Session], *, today: date, law: Law = no_law) -> None:
        self._sessions = sessions
        self._today = today
        self._law = law

    def by_document(self, digits: str) -> tuple[CallContext, ...]:
        wanted = document_digits(digits)
        if not wanted:
            return ()
        # The indexed expression, word for word: the planner uses the index.
        stored = literal_column(m.DOCUMENT_DIGITS_SQL, String())
        with self._sessions() as s:
            debtors = s.scalars(select(m.Debtor).where(stored == wanted).order_by(m.Debtor.id))
            found = (inbound_context(s, d, today=self._today, law=self._law) for d in debtors)
            return tuple(c for c in found if c is not None)


def open_inbound_attempt(
    s: Session,
    *,
    debtor_ref: str,
    caller_id: str,
    worker: str,
    at: datetime,
    lease_until: datetime,
) -> tuple[int, int] | None:
    """The live attempt of an identified caller's call, under ``worker``'s lease.

    Opened the moment the caller is identified, so what the call decides (a promise, an
    opt-out) is written against it while the call runs and a dead worker's call is found by
    the reaper. Returns (attempt id, debtor id); None: no such debtor, or no campaign holds them.
    Inbound attempts are outside the one-live-attempt-per-debtor index: a debtor who calls
    while a worker is dialing them is answered, and that dial goes on (it is not ours to stop).
    """
    debtor_id = int(debtor_ref) if debtor_ref.isdigit() else None
    campaign = _campaign_of(s, debtor_id) if debtor_id is not None else None
    if debtor_id is None or campaign is None:
        return None
    attempt = _new_attempt(s, campaign.id, debtor_id, caller_id, worker, at)
    attempt.status = "in_call"
    attempt.lease_expires_at = lease_until
    s.add(attempt)
    s.flush()
    return attempt.id, debtor_id


def _new_attempt(
    s: Session, campaign_id: int, debtor_id: int, caller_id: str, worker: str, at: datetime
) -> m.CallAttempt:
    phone_id = s.scalar(
        select(m.Phone.id).where(m.Phone.debtor_id == debtor_id, m.Phone.e164 == caller_id).limit(1)
    )
    number = s.scalar(
        select(func.count()).select_from(m.CallAttempt).where(m.CallAttempt.debtor_id == debtor_id)
    )
    return m.CallAttempt(
        campaign_id=campaign_id,
        debtor_id=debtor_id,
        phone_id=phone_id,
        number=(number or 0) + 1,
        kind=INBOUND,
        direction=INBOUND,
        caller_id=caller_id,
        due_at=at,
        started_at=at,
        claimed_by=worker,
    )


def record_inbound_call(
    s: Session,
    *,
    outcome: CallOutcome,
    debtor_ref: str,
    caller_id: str,
    actor: str,
    at: datetime | None = None,
) -> int | None:
    """Store an ended inbound call; returns its attempt id (None: the caller was never identified)."""
    debtor_id = int(debtor_ref) if debtor_ref.isdigit() else None
    campaign = _campaign_of(s, debtor_id) if debtor_id is not None else None
    if debtor_id is None or campaign is None:
        append_audit(
            s,
            actor=actor,
            action="inbound_unidentified",
            reason=outcome.disposition.value,
            details={
                "caller_id": caller_id,
                "final_state": outcome.final_state,
                "transfer_reason": outcome.transfer_reason,
            },
            at=at,
        )
        return None
    attempt = _new_attempt(s, campaign.id, debtor_id, caller_id, actor, outcome.started_at)
    attempt.status = "done"
    s.add(attempt)
    s.flush()
    if outcome.right_party_contacted:
        settle_pending_callbacks(s, debtor_id=debtor_id, attempt_id=attempt.id, actor=actor, at=at)
    record_outcome(s, attempt_id=attempt.id, outcome=outcome, actor=actor, at=at)
    return attempt.id


def settle_pending_callbacks(
    s: Session, *, debtor_id: int, attempt_id: int, actor: str, at: datetime | None
) -> None:
    """The debtor called and was served: the callback owed to them is done, its dial cancelled."""
    callbacks = list(
        s.scalars(
            select(m.Callback).where(
                m.Callback.debtor_id == debtor_id, m.Callback.status.in_(PENDING_CALLBACK)
            )
        )
    )
    if not callbacks:
        return
    for callback in callbacks:
        callback.status = "done"
    s.execute(
        update(m.CallAttempt)
        .where(
            m.CallAttempt.debtor_id == debtor_id,
            m.CallAttempt.kind == "callback",
            m.CallAttempt.status == "queued",
        )
        .values(status="cancelled", error=f"settled by inbound call {attempt_id}")
    )
    append_audit(
        s,
        actor=actor,
        action="callback_settled",
        debtor_id=debtor_id,
        attempt_id=attempt_id,
        reason="the debtor called back",
        details={"callbacks": [c.id for c in callbacks]},
        at=at,
    )
