"""Promises to pay: what is due, kept or broken, and marking one kept when the creditor is paid."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy import select

from api.deps import ManagerDep, ReaderDep, SessionDep
from api.errors import ApiError, not_found
from api.fields import DayQuery, IdPath, IdQuery
from api.pagination import Limit, Offset, paginate
from api.schemas import Page, PromiseKeptIn, PromiseOut
from voicebot.followups.payments import drop_follow_ups
from voicebot.storage import models as m
from voicebot.storage.models import utc_now
from voicebot.storage.repositories import append_audit, enqueue_event

router = APIRouter(prefix="/promises", tags=["promises"])

Status = Literal["pending", "due", "kept", "broken"]


@router.get("")
def list_promises(
    session: SessionDep,
    _: ReaderDep,
    status: Annotated[
        Status | None, Query(description="`due`: pending with a due date today or earlier")
    ] = None,
    campaign_id: IdQuery = None,
    debtor_id: IdQuery = None,
    due_from: DayQuery = None,
    due_to: DayQuery = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[PromiseOut]:
    query = select(m.PromiseToPay).order_by(m.PromiseToPay.due_date, m.PromiseToPay.id)
    if status == "due":
        query = query.where(
            m.PromiseToPay.status == "pending", m.PromiseToPay.due_date <= utc_now().date()
        )
    elif status is not None:
        query = query.where(m.PromiseToPay.status == status)
    if campaign_id is not None:
        query = query.where(m.PromiseToPay.campaign_id == campaign_id)
    if debtor_id is not None:
        query = query.where(m.PromiseToPay.debtor_id == debtor_id)
    if due_from is not None:
        query = query.where(m.PromiseToPay.due_date >= due_from)
    if due_to is not None:
        query = query.where(m.PromiseToPay.due_date <= due_to)
    return paginate(session, query, limit=limit, offset=offset, schema=PromiseOut)


@router.post("/{promise_id}/kept", responses={404: {}, 409: {}})
def mark_kept(
    promise_id: IdPath, body: PromiseKeptIn, session: SessionDep, who: ManagerDep
) -> PromiseOut:
    """The creditor reports the payment; the reminder/check calls for it stop being due."""
    promise = session.get(m.PromiseToPay, promise_id)
    if promise is None:
        raise not_found("promise", promise_id)
    if promise.status == "kept":
        raise ApiError(409, "invalid_state", f"promise {promise_id} is already kept")
    paid_at = body.paid_at or utc_now()
    promise.status = "kept"
    promise.paid_amount = body.paid_amount
    promise.kept_at = paid_at
    append_audit(
        session,
        actor=who.name,
        action="promise_kept",
        debtor_id=promise.debtor_id,
        campaign_id=promise.campaign_id,
        attempt_id=promise.attempt_id,
        reason=f"paid {body.paid_amount} {promise.currency}",
    )
    enqueue_event(
        session,
        event_type="promise.kept",
        idempotency_key=f"promise_kept:{promise.id}",
        payload={
            "promise_id": promise.id,
            "debtor_id": promise.debtor_id,
            "campaign_id": promise.campaign_id,
            "paid_amount": str(body.paid_amount),
            "currency": promise.currency,
            "paid_at": paid_at.isoformat(),
        },
    )
    drop_follow_ups(session, promise, ("reminder", "check"))
    session.flush()
    answer = PromiseOut.model_validate(promise)
    session.commit()
    return answer
