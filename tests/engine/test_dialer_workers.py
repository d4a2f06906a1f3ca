"""Several real worker processes on one database: no debtor on two calls at once, no lost outcome."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

from dialer_world import WORK_TIME, phone_of, portfolio_csv, scripts
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from voicebot.campaigns.lifecycle import launch_campaign
from voicebot.campaigns.portfolio import import_csv
from voicebot.data import DEFAULT_DIALPLAN
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.engine.dialer import Dialer
from voicebot.engine.hopper import reap_expired_leases
from voicebot.engine.text_runner import ScriptedTextRunner
from voicebot.storage import models as m

HERE = Path(__file__).resolve().parent
N = 14


def setup_campaign(sessions: sessionmaker[Session], n: int) -> int:
    with sessions.begin() as s:
        campaign = m.Campaign(
            name="carrera",
            dialplan="cobranza_es",
            jurisdiction="CO",
            default_region="CO",
            max_concurrent=8,
            calls_per_second=50.0,
        )
        s.add(campaign)
        s.flush()
        campaign_id = campaign.id
    import_csv(sessions, portfolio_csv(n), default_region="CO", campaign_id=campaign_id)
    with sessions.begin() as s:
        launch_campaign(s, campaign_id=campaign_id, now=WORK_TIME, actor="test")
        # A second due attempt per debtor: two workers could race for the same person.
        for attempt in s.scalars(select(m.CallAttempt)).all():
            s.add(
                m.CallAttempt(
                    campaign_id=campaign_id,
                    debtor_id=attempt.debtor_id,
                    phone_id=attempt.phone_id,
                    kind="callback",
                    due_at=WORK_TIME,
                )
            )
    return campaign_id


def worker(
    url: str,
    campaign_id: int,
    name: str,
    log: Path,
    delay: float,
    slow: str,
    n: int,
    racers: tuple[str, ...] = (),
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    return subprocess.Popen(
        [
            sys.executable,
            str(HERE / "dialer_world.py"),
            url,
            str(campaign_id),
            name,
            str(log),
            str(delay),
            slow,
            str(n),
            *([",".join(racers)] if racers else []),
        ],
        env=env,
    )


def test_two_workers_racing_never_dial_one_debtor_twice_at_once(
    db_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    campaign_id = setup_campaign(sessions, N)
    log = tmp_path / "calls.log"
    racers = ("w1", "w2")  # each one's first call waits until both have a call in progress
    procs = [worker(db_url, campaign_id, name, log, 0.25, "-", N, racers) for name in racers]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    intervals: dict[str, list[tuple[float, float]]] = defaultdict(list)
    attempts_seen: list[int] = []
    for line in log.read_text().splitlines():
        phone, attempt_id, start, end = line.split()
        intervals[phone].append((float(start), float(end)))
        attempts_seen.append(int(attempt_id))
    assert len(attempts_seen) == len(set(attempts_seen))  # no attempt dialed twice
    for phone, spans in intervals.items():
        spans.sort()
        for (_, end), (start, _) in pairwise(spans):
            assert start >= end, f"{phone} was on two calls at once"
    with sessions() as s:
        allowed = s.scalars(
            select(m.AuditEntry.attempt_id).where(m.AuditEntry.action == "dial_allowed")
        ).all()
        assert len(allowed) == len(set(allowed))
        workers = set(
            s.scalars(select(m.AuditEntry.actor).where(m.AuditEntry.action == "dial_allowed"))
        )
        assert workers == {"w1", "w2"}  # both really raced (the barrier guarantees both claim)
        outcomes = s.scalar(select(func.count()).select_from(m.CallRecord)) or 0
        failures = (
            s.scalar(
                select(func.count())
                .select_from(m.CallAttempt)
                .where(m.CallAttempt.disposition.in_(("NA", "BUSY")))
            )
            or 0
        )
        assert outcomes + failures == len(attempts_seen)


def test_killing_a_worker_mid_call_marks_its_dial_lost_and_keeps_finished_outcomes(
    db_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    n = 6
    campaign_id = setup_campaign(sessions, n)
    slow = phone_of(0)
    log = tmp_path / "calls.log"
    proc = worker(db_url, campaign_id, "doomed", log, 0.05, slow, n)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with sessions() as s:
            done = (
                s.scalar(
                    select(func.count())
                    .select_from(m.CallAttempt)
                    .where(m.CallAttempt.status == "done")
                )
                or 0
            )
            stuck = s.scalar(
                select(m.CallAttempt.id)
                .join(m.Phone, m.Phone.id == m.CallAttempt.phone_id)
                .where(m.Phone.e164 == slow, m.CallAttempt.status == "dialing")
            )
        if stuck is not None and done >= 4:
            break
        time.sleep(0.1)
    assert stuck is not None, "the slow call never started"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    with sessions() as s:
        finished = dict(
            s.execute(
                select(m.CallAttempt.id, m.CallAttempt.disposition).where(
                    m.CallAttempt.status == "done"
                )
            ).all()
        )
        lease = s.get_one(m.CallAttempt, stuck).lease_expires_at
    assert finished and lease is not None
    # The lease runs out: the dialled attempt is never dialled again as itself; it is a lost
    # dial (result unknown, a contact for the caps) and a retry goes to the hopper.
    assert reap_expired_leases(sessions, now=lease + timedelta(seconds=1), actor="reaper") >= 1
    with sessions() as s:
        back = s.get_one(m.CallAttempt, stuck)
        assert (back.status, back.claimed_by, back.disposition) == ("lost", "doomed", None)
        assert "doomed" in back.error
        retry = s.scalars(
            select(m.CallAttempt).where(m.CallAttempt.error == f"retry of lost attempt {stuck}")
        ).one()
        assert (retry.status, retry.debtor_id) == ("queued", back.debtor_id)
        for attempt_id, disposition in finished.items():
            assert s.get_one(m.CallAttempt, attempt_id).disposition == disposition
        records = s.scalar(select(func.count()).select_from(m.CallRecord)) or 0
        assert records >= 1
    # Another worker finishes the job.
    clock_now = lease + timedelta(seconds=2)
    plan = load_dialplan(DEFAULT_DIALPLAN)
    dialer = Dialer(
        sessions,
        ScriptedTextRunner(plan, scripts(n), clock=lambda: clock_now),
        worker_id="rescuer",
        clock=lambda: clock_now,
    )
    asyncio.run(dialer.run(campaign_id=campaign_id, until_idle=True))
    with sessions() as s:
        assert s.get_one(m.CallAttempt, stuck).status == "lost"
        # The lost dial counts as today's contact (the strict reading): Colombia's one contact
        # a day refuses the retry until tomorrow instead of calling the debtor a second time.
        retry = s.get_one(m.CallAttempt, retry.id)
        assert (retry.status, retry.started_at) == ("queued", None)
        assert retry.due_at.astimezone(WORK_TIME.tzinfo).date() > WORK_TIME.date()
        refused = s.scalars(
            select(m.AuditEntry.rule).where(
                m.AuditEntry.action == "dial_refused", m.AuditEntry.attempt_id == retry.id
            )
        ).all()
        assert refused == ["co_one_contact_per_day"]
        for attempt_id, disposition in finished.items():
            assert s.get_one(m.CallAttempt, attempt_id).disposition == disposition
