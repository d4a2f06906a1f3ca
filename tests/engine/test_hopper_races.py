"""Claims, renewals, reaping and finishing under randomized interleavings of many workers.

Model-checking style: threads play workers that claim, dial, renew (or stall and let
their lease run out), reap each other and finish, each step chosen at random (seeded,
the seed is in the failure message) and racing for real on the database. A shared
logical clock moves forward one second per step, so leases of a few seconds expire
while their holders are still busy. After the storm, invariants that must hold under
every interleaving are checked against the database and the workers' own records.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from voicebot.domain.outcome import Disposition
from voicebot.engine.hopper import (
    HopperContended,
    claim_attempts,
    reap_expired_leases,
    renew_lease,
    start_dial,
)
from voicebot.engine.journal import FAILURE, Entry
from voicebot.engine.settlement import DISCARDED, WRITTEN, failure_data, settle
from voicebot.storage import models as m
from voicebot.telephony.carrier import DialFailure

T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
LEASE = timedelta(seconds=4)
DEBTORS = 24
WORKERS = 8
STEPS = 60


class LogicalClock:
    def __init__(self) -> None:
        self._ticks = 0
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            self._ticks += 1
            return T0 + timedelta(seconds=self._ticks)


@dataclass
class WorkerLog:
    """What one worker believed and did, to check against the database afterwards."""

    dialled: list[int] = field(default_factory=list)
    written: list[int] = field(default_factory=list)
    discarded: list[int] = field(default_factory=list)
    lost_on_renew: list[int] = field(default_factory=list)
    reaped: int = 0
    errors: list[str] = field(default_factory=list)


def seed_world(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as s:
        campaign = m.Campaign(
            name="carrera",
            dialplan="cobranza_es",
            jurisdiction="CO",
            default_region="CO",
            status="running",
            max_concurrent=1000,
        )
        s.add(campaign)
        s.flush()
        for i in range(DEBTORS):
            debtor = m.Debtor(external_id=f"R{i}", full_name=f"Deudor {i}")
            s.add(debtor)
            s.flush()
            phone = m.Phone(debtor_id=debtor.id, e164=f"+57310{2000000 + i}")
            s.add(phone)
            s.flush()
            s.add(
                m.CallAttempt(
                    campaign_id=campaign.id, debtor_id=debtor.id, phone_id=phone.id, due_at=T0
                )
            )
        return campaign.id


def play(
    name: str,
    sessions: sessionmaker[Session],
    campaign_id: int,
    clock: LogicalClock,
    rng: random.Random,
    start: threading.Barrier,
    log: WorkerLog,
) -> None:
    held: list[int] = []  # attempts this worker believes it is calling
    start.wait()
    for _ in range(STEPS):
        move = rng.random()
        try:
            if move < 0.3:
                try:
                    got = claim_attempts(
                        sessions,
                        campaign_id=campaign_id,
                        worker_id=name,
                        now=clock(),
                        lease=LEASE,
                        limit=rng.randint(1, 3),
                    )
                except HopperContended:
                    got = []
                for attempt_id in got:
                    with sessions.begin() as s:
                        if start_dial(s, attempt_id=attempt_id, worker_id=name, at=clock()):
                            log.dialled.append(attempt_id)
                            held.append(attempt_id)
            elif move < 0.55 and held:
                # Renew one call's lease (a stalled worker skips this and may lose it).
                attempt_id = rng.choice(held)
                if not renew_lease(
                    sessions, attempt_id=attempt_id, worker_id=name, until=clock() + LEASE
                ):
                    log.lost_on_renew.append(attempt_id)
                    held.remove(attempt_id)  # the call is stopped: no outcome from it
            elif move < 0.75:
                log.reaped += reap_expired_leases(sessions, now=clock(), actor=name)
            elif held:
                attempt_id = held.pop(rng.randrange(len(held)))
                at = clock()
                entry = Entry(
                    0,
                    FAILURE,
                    attempt_id,
                    0,
                    name,
                    at.isoformat(),
                    failure_data(DialFailure(Disposition.NA, 408, "no answer")),
                )
                with sessions.begin() as s:
                    verdict = settle(s, entry, actor=name)
                (log.written if verdict == WRITTEN else log.discarded).append(attempt_id)
                assert verdict in (WRITTEN, DISCARDED)
        except Exception as exc:  # a lost race the database reported: recorded, checked below
            log.errors.append(f"{type(exc).__name__}: {exc}")


@pytest.mark.parametrize("seed", [11, 29])
def test_many_reapers_and_claimers_never_share_a_lease(
    sessions: sessionmaker[Session], seed: int
) -> None:
    campaign_id = seed_world(sessions)
    clock = LogicalClock()
    start = threading.Barrier(WORKERS)
    logs = {f"w{i}": WorkerLog() for i in range(WORKERS)}
    threads = [
        threading.Thread(
            target=play,
            args=(name, sessions, campaign_id, clock, random.Random(seed * 100 + i), start, log),
        )
        for i, (name, log) in enumerate(logs.items())
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    context = f"seed {seed}"
    assert not any(thread.is_alive() for thread in threads), context
    errors = [e for log in logs.values() for e in log.errors]
    # Only lost races may surface (SQLite busy, PostgreSQL serialization), never wrong writes.
    assert all("locked" in e or "IntegrityError" in e for e in errors), (context, errors[:3])

    dialled = Counter(a for log in logs.values() for a in log.dialled)
    written = Counter(a for log in logs.values() for a in log.written)
    with sessions() as s:
        reaped_audits = s.scalar(
            select(func.count())
            .select_from(m.AuditEntry)
            .where(m.AuditEntry.action == "lease_expired")
        )
        attempts = {a.id: a for a in s.scalars(select(m.CallAttempt)).all()}
        done = {a.id for a in attempts.values() if a.status == "done"}
    # One attempt is dialled at most once, whatever reapers did to its lease.
    assert max(dialled.values(), default=0) <= 1, context
    # At most one outcome per attempt, written by the worker that held the lease.
    assert max(written.values(), default=0) <= 1, context
    assert set(written) == done, context
    for attempt_id in done:
        assert attempts[attempt_id].claimed_by in logs, context
    # Every reap a worker counted is one audited reap: no lease was reaped twice.
    assert sum(log.reaped for log in logs.values()) == reaped_audits, context
    # A worker that learned it lost a lease never wrote an outcome for it.
    for name, log in logs.items():
        assert not set(log.lost_on_renew) & set(log.written), (context, name)
    # What was dialled and then lost is 'lost' (a contact for the caps), never re-queued.
    for attempt_id in dialled:
        assert attempts[attempt_id].status in ("dialing", "done", "lost"), context
    # The storm really exercised the races it is about.
    assert reaped_audits > 0 and sum(dialled.values()) > 0, context
