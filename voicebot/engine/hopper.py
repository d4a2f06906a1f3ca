"""The hopper's SQL: claiming due attempts, holding them under leases, reaping dead leases.

Many workers (processes, machines) share one database. A worker claims rows with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL (an atomic ``UPDATE … RETURNING`` on
SQLite), holds them under a lease it renews while the call runs, and writes the
outcome in one transaction. A worker that dies stops renewing;
``reap_expired_leases`` puts its attempts back in the hopper. A partial unique
index makes two live attempts for one debtor impossible whatever the workers do.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from voicebot.engine.best_hour import Group
from voicebot.storage import models as m
from voicebot.storage.repositories import append_audit

log = logging.getLogger(__name__)

LIVE = m.LIVE_ATTEMPT_STATUSES


class HopperContended(Exception):
    """Every try to claim lost a race with another worker; the caller should try again later."""


def claim_attempts(
    sessions: sessionmaker[Session],
    *,
    campaign_id: int,
    worker_id: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    boosts: Mapping[Group, int] | None = None,
) -> list[int]:
    """Atomically take up to ``limit`` due attempts of a running campaign for this worker.

    Highest priority first, each (segment, zone) group's ``boosts`` added: see
    ``voicebot.engine.best_hour``. An empty list means nothing is claimable now; losing
    every race raises ``HopperContended``.
    """
    tries = 5
    last: Exception | None = None
    for _ in range(tries):
        try:
            with sessions.begin() as s:
                return _claim(s, campaign_id, worker_id, now, lease, limit, boosts or {})
        except (IntegrityError, OperationalError) as exc:
            # Another worker claimed the same debtor's other attempt first, or SQLite was busy.
            log.debug("claim retry: %s", exc)
            last = exc
    raise HopperContended(f"{worker_id} lost {tries} claim races in a row: {last}")


def _claim(
    s: Session,
    campaign_id: int,
    worker_id: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    boosts: Mapping[Group, int],
) -> list[int]:
    campaign = s.get_one(m.Campaign, campaign_id)
    if campaign.status != "running":
        return []
    live = (
        s.scalar(
            select(func.count())
            .select_from(m.CallAttempt)
            .where(m.CallAttempt.campaign_id == campaign_id, m.CallAttempt.status.in_(LIVE))
        )
        or 0
    )
    limit = min(limit, campaign.max_concurrent - live)
    if limit <= 0:
        return []
    busy = select(m.CallAttempt.debtor_id).where(m.CallAttempt.status.in_(LIVE)).scalar_subquery()
    query = (
        select(m.CallAttempt.id, m.CallAttempt.debtor_id)
        .where(
            m.CallAttempt.campaign_id == campaign_id,
            m.CallAttempt.status == "queued",
            m.CallAttempt.due_at <= now,
            m.CallAttempt.debtor_id.not_in(busy),
        )
        .limit(limit * 3)
    )
    rank: Any = m.CallAttempt.priority
    if boosts:
        rank = rank + case(
            *[
                ((m.Debtor.segment == segment) & (m.Debtor.timezone == zone), boost)
                for (segment, zone), boost in boosts.items()
            ],
            else_=0,
        )
        query = query.join(m.Debtor, m.Debtor.id == m.CallAttempt.debtor_id)
    query = query.order_by(rank.desc(), m.CallAttempt.due_at, m.CallAttempt.id)
    if s.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=m.CallAttempt)
    chosen: list[int] = []
    debtors: set[int] = set()
    for attempt_id, debtor_id in s.execute(query):
        if debtor_id not in debtors and len(chosen) < limit:
            debtors.add(debtor_id)
            chosen.append(attempt_id)
    if not chosen:
        return []
    claimed = (
        s.execute(
            update(m.CallAttempt)
            .where(m.CallAttempt.id.in_(chosen), m.CallAttempt.status == "queued")
            .values(status="claimed", claimed_by=worker_id, lease_expires_at=now + lease)
            .returning(m.CallAttempt.id)
        )
        .scalars()
        .all()
    )
    return sorted(claimed)


def renew_lease(
    sessions: sessionmaker[Session], *, attempt_id: int, worker_id: str, until: datetime
) -> None:
    """Push this worker's lease on a live call forward."""
    with sessions.begin() as s:
        s.execute(
            update(m.CallAttempt)
            .where(m.CallAttempt.id == attempt_id, m.CallAttempt.claimed_by == worker_id)
            .values(lease_expires_at=until)
        )


def reap_expired_leases(sessions: sessionmaker[Session], *, now: datetime, actor: str) -> int:
    """Attempts whose worker stopped renewing go back to the hopper to be dialled again."""
    with sessions.begin() as s:
        lost = s.execute(
            select(
                m.CallAttempt.id,
                m.CallAttempt.debtor_id,
                m.CallAttempt.claimed_by,
                m.CallAttempt.campaign_id,
            ).where(m.CallAttempt.status.in_(LIVE), m.CallAttempt.lease_expires_at < now)
        ).all()
        for attempt_id, debtor_id, worker, campaign_id in lost:
            s.execute(
                update(m.CallAttempt)
                .where(m.CallAttempt.id == attempt_id)
                .values(
                    status="queued",
                    claimed_by=None,
                    lease_expires_at=None,
                    due_at=now,
                    error=f"lease of {worker} expired: returned to the hopper",
                )
            )
            append_audit(
                s,
                actor=actor,
                action="lease_expired",
                debtor_id=debtor_id,
                campaign_id=campaign_id,
                attempt_id=attempt_id,
                reason=f"worker {worker} stopped renewing",
                at=now,
            )
        return len(lost)
