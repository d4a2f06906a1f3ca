"""The outbox sender: post due events, mark them delivered on 2xx, back off on anything else.

Delivery is at-least-once: an event is marked delivered only after the receiver
acknowledged it, so a crash between the two re-sends it; the idempotency key in
``X-Voicebot-Event-Id`` lets the receiver drop the duplicate. A claim is a lease
(``next_attempt_at`` pushed ahead) rather than a held lock, so no transaction
stays open across an HTTP request and several senders can share one outbox.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from voicebot.storage import models as m
from voicebot.storage.db import transaction
from voicebot.webhooks.signing import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    event_body,
    signature_header,
)

CLAIM_BATCH = 20


@dataclass(frozen=True, slots=True)
class Backoff:
    base_seconds: float = 5.0
    max_seconds: float = 3600.0

    def delay(self, failures: int) -> timedelta:
        """Exponential: base, 2·base, 4·base … capped; ``failures`` counts from 1."""
        seconds = min(self.base_seconds * 2 ** max(failures - 1, 0), self.max_seconds)
        return timedelta(seconds=seconds)


@dataclass
class DeliveryReport:
    delivered: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def backlog(session: Session) -> int:
    """Events not yet acknowledged by the receiver."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(m.OutboxEvent)
            .where(m.OutboxEvent.delivered_at.is_(None))
        )
        or 0
    )


def _claim(
    sessions: sessionmaker[Session], now: datetime, lease: timedelta, limit: int
) -> list[m.OutboxEvent]:
    with transaction(sessions) as session:
        query = (
            select(m.OutboxEvent)
            .where(m.OutboxEvent.delivered_at.is_(None), m.OutboxEvent.next_attempt_at <= now)
            .order_by(m.OutboxEvent.id)
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        events = list(session.scalars(query))
        for event in events:
            event.next_attempt_at = now + lease
        session.flush()
        session.expunge_all()
        return events


def deliver_one(
    event: m.OutboxEvent, *, url: str, secret: str, now: datetime, http_client: httpx.Client
) -> str | None:
    """Post one event; None when acknowledged, else why it failed."""
    body = event_body(
        idempotency_key=event.idempotency_key,
        event_type=event.event_type,
        created_at=event.created_at.isoformat(),
        payload=event.payload,
    )
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature_header(secret, int(now.timestamp()), body),
        EVENT_ID_HEADER: event.idempotency_key,
        EVENT_TYPE_HEADER: event.event_type,
    }
    try:
        response = http_client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}: {response.text[:200]}"


def deliver_due(
    sessions: sessionmaker[Session],
    *,
    url: str,
    secret: str,
    now: datetime,
    http_client: httpx.Client,
    backoff: Backoff | None = None,
    limit: int = CLAIM_BATCH,
) -> DeliveryReport:
    """Send every event due at ``now`` once; failures are rescheduled with exponential backoff."""
    backoff = backoff or Backoff()
    timeout = http_client.timeout.read or 30.0
    # Long enough to post the whole batch even if every request times out; after a crash
    # the leased events wait this long before another sender takes them.
    lease = timedelta(seconds=timeout * (limit + 2))
    report = DeliveryReport()
    started = time.monotonic()
    for event in _claim(sessions, now, lease, limit):
        sent_at = now + timedelta(seconds=time.monotonic() - started)
        error = deliver_one(event, url=url, secret=secret, now=sent_at, http_client=http_client)
        with transaction(sessions) as session:
            values: dict[str, object] = {"attempts": m.OutboxEvent.attempts + 1}
            if error is None:
                values.update(delivered_at=now, last_error="")
                report.delivered.append(event.idempotency_key)
            else:
                values.update(
                    next_attempt_at=now + backoff.delay(event.attempts + 1), last_error=error
                )
                report.failed[event.idempotency_key] = error
            session.execute(
                update(m.OutboxEvent).where(m.OutboxEvent.id == event.id).values(**values)
            )
    return report


def replay(session: Session, *, event_id: int, now: datetime) -> m.OutboxEvent:
    """Send an event again (delivered or not) at the next run, e.g. after the receiver lost it."""
    event = session.get_one(m.OutboxEvent, event_id)
    event.delivered_at = None
    event.next_attempt_at = now
    return event
