"""Webhook deliveries: inspect the outbox and replay an event the receiver lost."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from sqlalchemy import select

from api.deps import AdminDep, ReaderDep, SessionDep
from api.errors import not_found
from api.fields import IdPath, filter_text
from api.pagination import Limit, Offset, paginate
from api.schemas import DeliveryOut, Page
from voicebot.storage import models as m
from voicebot.storage.models import utc_now
from voicebot.storage.repositories import append_audit
from voicebot.webhooks.delivery import replay

router = APIRouter(prefix="/webhooks/deliveries", tags=["webhooks"])


@router.get("")
def list_deliveries(
    session: SessionDep,
    _: ReaderDep,
    status: Literal["pending", "delivered", "failing"] | None = None,
    event_type: Annotated[str | None, filter_text(40)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[DeliveryOut]:
    """``failing``: not delivered and tried at least once (see ``last_error``)."""
    query = select(m.OutboxEvent).order_by(m.OutboxEvent.id.desc())
    if status == "delivered":
        query = query.where(m.OutboxEvent.delivered_at.is_not(None))
    elif status == "pending":
        query = query.where(m.OutboxEvent.delivered_at.is_(None))
    elif status == "failing":
        query = query.where(m.OutboxEvent.delivered_at.is_(None), m.OutboxEvent.attempts > 0)
    if event_type is not None:
        query = query.where(m.OutboxEvent.event_type == event_type)
    return paginate(session, query, limit=limit, offset=offset, schema=DeliveryOut)


@router.get("/{event_id}")
def get_delivery(event_id: IdPath, session: SessionDep, _: ReaderDep) -> DeliveryOut:
    event = session.get(m.OutboxEvent, event_id)
    if event is None:
        raise not_found("webhook event", event_id)
    return DeliveryOut.model_validate(event)


@router.post("/{event_id}/replay", status_code=202)
def replay_delivery(event_id: IdPath, session: SessionDep, who: AdminDep) -> DeliveryOut:
    """Queue the event again with the same idempotency key (receivers deduplicate on it)."""
    if session.get(m.OutboxEvent, event_id) is None:
        raise not_found("webhook event", event_id)
    event = replay(session, event_id=event_id, now=utc_now())
    append_audit(session, actor=who.name, action="webhook_replayed", reason=event.idempotency_key)
    session.flush()
    answer = DeliveryOut.model_validate(event)
    session.commit()
    return answer
