"""The hopper's SQL: claiming due attempts, holding them under leases, reaping dead leases.

Many workers (processes, machines) share one database. A worker claims rows with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL (an atomic ``UPDATE … RETURNING`` on
SQLite) and holds them under a short heartbeat lease it renews while the call runs.
Every write that depends on holding a lease is a compare-and-set on the lease's
owner (and, for reaping, its expiry): a reaper that read a lease which has since
been renewed or re-claimed changes nothing, and a worker that lost its lease learns
so from the row count instead of overwriting someone else's attempt.

A worker that dies stops renewing. An attempt it had only claimed goes back to the
hopper; one it had already dialed is never dialed again as the same attempt: it
becomes ``lost`` (dialed, result unknown: a contact for every cap until a journal
replay tells its result) and a retry is queued for compliance to decide; an inbound call
(the debtor called) becomes ``lost`` too, and is never redialled. Concurrency
slots count only leases that are still alive, so a dead worker's slots free as soon
as its lease runs out, before any reaper runs. A partial unique index makes two live
outbound attempts for one debtor impossible whatever the workers do; a live inbound call
(outside that index) still keeps the hopper from claiming that debtor's next dial.
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
OUTBOUND = "outbound"


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
            # Another worker claimed the same debtor's other attempt first, or SQLite was busy;
            # any other operational error is the database going away: the caller rides it out.
            if isinstance(exc, OperationalError) and not _busy(exc):
                raise
            log.debug("claim retry: %s", exc)
            last = exc
    raise HopperContended(f"{worker_id} lost {tries} claim races in a row: {last}")


def _busy(exc: OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text or "deadlock" in text or "serializ" in text


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
            .where(
                m.CallAttempt.campaign_id == campaign_id,
                m.CallAttempt.status.in_(LIVE),
                m.CallAttempt.lease_expires_at >= now,
                m.CallAttempt.direction == OUTBOUND,  # calls the debtors made use no dial slot
            )
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
) -> bool:
    """Push this worker's lease forward; False when the lease is no longer this worker's."""
    with sessions.begin() as s:
        renewed = s.execute(
            update(m.CallAttempt)
            .where(
                m.CallAttempt.id == attempt_id,
                m.CallAttempt.claimed_by == worker_id,
                m.CallAttempt.status.in_(LIVE),
            )
            .values(lease_expires_at=until)
        )
        return bool(renewed.rowcount)  # type: ignore[attr-defined]


def holds_lease(s: Session, attempt: m.CallAttempt, worker_id: str) -> bool:
    """Whether ``worker_id`` still holds the attempt (read in the caller's transaction)."""
    return attempt.claimed_by == worker_id and attempt.status in LIVE


def start_dial(s: Session, *, attempt_id: int, worker_id: str, at: datetime) -> bool:
    """The write-ahead dial record: committed before the call is placed, only by the holder."""
    started = s.execute(
        update(m.CallAttempt)
        .where(
            m.CallAttempt.id == attempt_id,
            m.CallAttempt.claimed_by == worker_id,
            m.CallAttempt.status == "claimed",
        )
        .values(status="dialing", started_at=at)
        .execution_options(synchronize_session="fetch")
    )
    return bool(started.rowcount)  # type: ignore[attr-defined]


def database_uptime_s(sessions: sessionmaker[Session]) -> float | None:
    """Seconds since the database server (re)started; None where it cannot say (SQLite).

    Nobody could renew a lease while the server was down, so a lease that expired then
    proves nothing about its worker until the server has been up for a whole lease.
    """
    with sessions() as s:
        if s.get_bind().dialect.name != "postgresql":
            return None
        uptime = s.scalar(
            select(func.extract("epoch", func.now() - func.pg_postmaster_start_time()))
        )
    return float(uptime) if uptime is not None else None


def reap_expired_leases(sessions: sessionmaker[Session], *, now: datetime, actor: str) -> int:
    """Free the attempts whose worker stopped renewing; returns how many this reaper freed.

    Each row is reset only if its lease is still the expired one this reaper read (same
    owner, same expiry): under any interleaving of reapers, renewals and claims, one
    lease is reaped at most once and a renewed or re-claimed lease is never touched.
    """
    with sessions.begin() as s:
        expired = s.execute(
            select(
                m.CallAttempt.id,
                m.CallAttempt.debtor_id,
                m.CallAttempt.claimed_by,
                m.CallAttempt.campaign_id,
                m.CallAttempt.lease_expires_at,
                m.CallAttempt.status,
            ).where(m.CallAttempt.status.in_(LIVE), m.CallAttempt.lease_expires_at < now)
        ).all()
    reaped = 0
    for attempt_id, debtor_id, worker, campaign_id, expiry, status in expired:
        with sessions.begin() as s:
            if not _reap_one(s, attempt_id, worker, expiry, status, now=now):
                continue
            reaped += 1
            append_audit(
                s,
                actor=actor,
                action="lease_expired",
                debtor_id=debtor_id,
                campaign_id=campaign_id,
                attempt_id=attempt_id,
                reason=f"worker {worker} stopped renewing"
                + ("" if status == "claimed" else "; dialed, result unknown"),
                at=now,
            )
    return reaped


def _reap_one(
    s: Session,
    attempt_id: int,
    worker: str | None,
    expiry: datetime | None,
    status: str,
    *,
    now: datetime,
) -> bool:
    # The lease exactly as read: same owner, same expiry, same stage (a claim that became a
    # dial in between is a dial, and must never go back to the hopper as a fresh claim).
    still_expired = (
        m.CallAttempt.id == attempt_id,
        m.CallAttempt.status == status,
        m.CallAttempt.claimed_by == worker,
        m.CallAttempt.lease_expires_at == expiry,
    )
    if status == "claimed":
        back = s.execute(
            update(m.CallAttempt)
            .where(*still_expired)
            .values(
                status="queued",
                claimed_by=None,
                lease_expires_at=None,
                due_at=now,
                error=f"lease of {worker} expired: returned to the hopper",
            )
        )
        return bool(back.rowcount)  # type: ignore[attr-defined]
    lost = s.execute(
        update(m.CallAttempt)
        .where(*still_expired)
        .values(
            status="lost",
            lease_expires_at=None,
            error=f"lease of {worker} expired mid-call: dialed, result unknown",
        )
    )
    if not lost.rowcount:  # type: ignore[attr-defined]
        return False
    attempt = s.get_one(m.CallAttempt, attempt_id, populate_existing=True)
    if attempt.direction != OUTBOUND:
        # The debtor called us: there is nothing to redial. What the call decided mid-call is
        # already written (or in the dead worker's journal, replayed onto this lost attempt).
        return True
    s.add(
        m.CallAttempt(
            campaign_id=attempt.campaign_id,
            debtor_id=attempt.debtor_id,
            phone_id=attempt.phone_id,
            kind="retry",
            due_at=now,
            priority=attempt.priority,
            number=attempt.number + 1,
            error=f"retry of lost attempt {attempt_id}",
        )
    )
    return True
