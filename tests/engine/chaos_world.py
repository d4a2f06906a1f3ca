"""Chaos for the dialer: workers SIGKILLed at random, PostgreSQL restarted and stopped.

Used by ``test_dialer_chaos.py`` (short) and ``bench/chaos.py`` (long). Run as a script,
it is one worker process: ``python chaos_world.py URL CAMPAIGN_ID WORKER_ID CARRIER_LOG
JOURNAL_DIR LEASE_S EPOCH N``. Every worker dials through a simulated carrier that keeps
its own log of dials (appended and fsynced, like a carrier's CDRs): a dial line before
the call, an opt-out line when the debtor says stop, an end line when the line hangs
up. The checks read that log and the database, never the workers' own word.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from dialer_world import WORK_TIME, portfolio_csv, scripts
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from testbeds.postgres import PostgresServer
from voicebot.actions import Action, EndCall, OptOut
from voicebot.campaigns.compliance_facts import CONTACTS
from voicebot.campaigns.lifecycle import launch_campaign
from voicebot.campaigns.portfolio import import_csv
from voicebot.data import DEFAULT_DIALPLAN
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.engine.dialer import CallResult, Dialer, DialRequest
from voicebot.engine.journal import read_pending
from voicebot.engine.text_runner import ScriptedTextRunner
from voicebot.storage import models as m
from voicebot.storage.db import make_engine, session_factory

HERE = Path(__file__).resolve().parent
LIVE = m.LIVE_ATTEMPT_STATUSES


# ---------------------------------------------------------------- the worker process


class CarrierLog:
    """The simulated carrier's own record of dials: one fsynced line per event."""

    def __init__(self, path: Path, worker: str) -> None:
        self.worker = worker
        self._file: TextIO = path.open("a", encoding="utf-8")

    def write(self, *fields: object) -> None:
        self._file.write(" ".join(str(f) for f in (*fields[:1], self.worker, *fields[1:])))
        self._file.write(f" {time.time():.6f}\n")
        self._file.flush()
        os.fsync(self._file.fileno())


class ChaosRunner(ScriptedTextRunner):
    def __init__(self, n: int, carrier: CarrierLog, clock: Callable[[], datetime]) -> None:
        plan = load_dialplan(DEFAULT_DIALPLAN)
        super().__init__(plan, scripts(n), clock=clock)
        self.carrier = carrier
        self.rng = random.Random()

    async def run(self, request: DialRequest) -> CallResult:
        self.carrier.write("dial", request.attempt_id, request.phone)
        await asyncio.sleep(self.rng.uniform(0.3, 1.5))  # the line rings and talks
        sink = request.on_action
        ended = False

        async def observe(action: Action) -> None:
            nonlocal ended
            if sink is not None:
                await sink(action)  # the dialer's journal sees it first
            if isinstance(action, OptOut):
                self.carrier.write("optout", request.attempt_id, request.phone)
            ended = ended or isinstance(action, EndCall)

        result = await super().run(
            DialRequest(request.attempt_id, request.phone, request.context, observe, request.clock)
        )
        self.carrier.write(
            "end", request.attempt_id, request.phone, result.disposition.value, int(ended)
        )
        return result


def worker_main() -> None:
    url, campaign_id, worker_id, carrier_path, journal_dir, lease_s, epoch, n = sys.argv[1:9]
    logging.basicConfig(
        level=logging.WARNING, format=f"%(asctime)s {worker_id} %(name)s %(message)s"
    )

    def clock() -> datetime:
        return (WORK_TIME + timedelta(seconds=time.time() - float(epoch))).astimezone(UTC)

    engine = make_engine(url, pool_size=4)
    runner = ChaosRunner(int(n), CarrierLog(Path(carrier_path), worker_id), clock)
    dialer = Dialer(
        session_factory(engine),
        runner,
        worker_id=worker_id,
        clock=clock,
        lease_seconds=float(lease_s),
        max_concurrent=4,
        journal_dir=Path(journal_dir),
    )
    asyncio.run(dialer.run(campaign_id=int(campaign_id), until_idle=False, poll_s=0.2))


# ---------------------------------------------------------------- the harness


@dataclass
class Chaos:
    """One chaos run's schedule and what happened (wall times)."""

    duration_s: float = 45.0
    phases: dict[str, float] = field(default_factory=dict)  # seconds spent in each phase
    workers: int = 3
    lease_s: float = 4.0
    debtors: int = 300
    kill_every_s: tuple[float, float] = (2.5, 4.0)
    restart_at_s: float = 10.0
    outage_at_s: float = 20.0
    outage_s: float = 6.0
    kills: dict[str, float] = field(default_factory=dict)  # worker → wall time of SIGKILL
    crashed: list[str] = field(default_factory=list)  # workers that died on their own
    dead_slot_samples: list[str] = field(default_factory=list)
    samples: int = 0


def setup(sessions: sessionmaker[Session], debtors: int) -> int:
    with sessions.begin() as s:
        campaign = m.Campaign(
            name="caos",
            dialplan="cobranza_es",
            jurisdiction="CO",
            default_region="CO",
            max_concurrent=9,  # fewer than 3 workers × 4: the slots are what they share
            calls_per_second=50.0,
        )
        s.add(campaign)
        s.flush()
        campaign_id = campaign.id
    import_csv(sessions, portfolio_csv(debtors), default_region="CO", campaign_id=campaign_id)
    with sessions.begin() as s:
        launch_campaign(s, campaign_id=campaign_id, now=WORK_TIME, actor="chaos")
    return campaign_id


def run(
    server: PostgresServer, url: str, workdir: Path, chaos: Chaos, *, seed: int = 7
) -> sessionmaker[Session]:
    """Start the workers, do the damage, let them finish; returns sessions on the database."""
    engine = make_engine(url)
    sessions = session_factory(engine)
    began = time.monotonic()
    campaign_id = setup(sessions, chaos.debtors)
    chaos.phases["setup"] = time.monotonic() - began
    rng = random.Random(seed)
    epoch = time.time()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    names = iter(f"w{i:02d}" for i in range(1000))

    def spawn() -> None:
        name = next(names)
        stderr = (workdir / f"{name}.log").open("wb")
        procs[name] = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "chaos_world.py"),
                url,
                str(campaign_id),
                name,
                str(workdir / "carrier.log"),
                str(workdir / "journal"),
                str(chaos.lease_s),
                str(epoch),
                str(chaos.debtors),
            ],
            # The world beside this file and testbeds/ at the root (neither is installed).
            env={**os.environ, "PYTHONPATH": os.pathsep.join((str(HERE), str(HERE.parents[1])))},
            stderr=stderr,
        )

    for _ in range(chaos.workers):
        spawn()
    next_kill = rng.uniform(*chaos.kill_every_s)
    restarted = outage_done = False
    try:
        while time.time() - epoch < chaos.duration_s:
            elapsed = time.time() - epoch
            if elapsed >= next_kill:
                victim = rng.choice([n for n, p in procs.items() if p.poll() is None])
                procs[victim].send_signal(signal.SIGKILL)
                procs[victim].wait()
                chaos.kills[victim] = time.time()
                spawn()
                next_kill = elapsed + rng.uniform(*chaos.kill_every_s)
            elif not restarted and elapsed >= chaos.restart_at_s:
                server.restart()
                restarted = True
            elif not outage_done and elapsed >= chaos.outage_at_s:
                server.go_down()
                time.sleep(chaos.outage_s)
                server.come_back()
                outage_done = True
            else:
                sample_dead_slots(sessions, chaos, epoch)
                time.sleep(0.2)
        chaos.phases["chaos"] = time.time() - epoch
        began = time.monotonic()
        settle_down(sessions, campaign_id, epoch, workdir / "journal")
        chaos.phases["settle"] = time.monotonic() - began
    finally:
        for name, proc in procs.items():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
            elif name not in chaos.kills:
                chaos.crashed.append(name)
    return sessions


def clock_at(wall: float, epoch: float) -> datetime:
    return (WORK_TIME + timedelta(seconds=wall - epoch)).astimezone(UTC)


def sample_dead_slots(sessions: sessionmaker[Session], chaos: Chaos, epoch: float) -> None:
    """A slot counted as busy must not belong to a worker killed more than a lease ago."""
    now = time.time()
    try:
        with sessions() as s:
            rows = s.execute(
                select(m.CallAttempt.id, m.CallAttempt.claimed_by).where(
                    m.CallAttempt.status.in_(LIVE),
                    m.CallAttempt.lease_expires_at >= clock_at(now, epoch),
                )
            ).all()
    except Exception:  # the database is down right now: nothing to sample
        return
    chaos.samples += 1
    for attempt_id, worker in rows:
        killed = chaos.kills.get(worker or "")
        if killed is not None and now - killed > chaos.lease_s + 0.5:
            chaos.dead_slot_samples.append(f"attempt {attempt_id} of {worker}")


def settle_down(
    sessions: sessionmaker[Session], campaign_id: int, epoch: float, journal: Path
) -> None:
    """No more damage: wait until nothing is live, due or unsaved (two minutes at most)."""
    deadline = time.time() + 120
    while time.time() < deadline:
        now = clock_at(time.time(), epoch)
        with sessions() as s:
            busy = s.scalar(
                select(m.CallAttempt.id)
                .where(
                    m.CallAttempt.campaign_id == campaign_id,
                    (m.CallAttempt.status.in_(LIVE))
                    | ((m.CallAttempt.status == "queued") & (m.CallAttempt.due_at <= now)),
                )
                .limit(1)
            )
        unsaved = [
            p.name for p in journal.glob("*.jsonl") if read_pending(p.read_text(encoding="utf-8"))
        ]
        if busy is None and not unsaved:
            return
        with sessions() as s:
            row = s.get(m.CallAttempt, busy) if busy is not None else None
            waiting = f"{row.status} {row.claimed_by} {row.lease_expires_at}" if row else ""
        print(f"settling: attempt {busy} {waiting}, unsaved {unsaved}", flush=True)
        time.sleep(0.3)
    raise AssertionError(f"the workers never settled: attempt {busy} live, unsaved {unsaved}")


# ---------------------------------------------------------------- the checks


@dataclass
class Line:
    kind: str
    worker: str
    attempt: int
    phone: str
    wall: float
    disposition: str = ""
    ended_by_dialog: bool = False


def read_carrier_log(path: Path) -> list[Line]:
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        parts = raw.split()
        if not parts or not parts[-1].replace(".", "").isdigit():
            continue  # torn by a SIGKILL mid-write: never fsynced, the dial never left
        kind, worker, attempt, phone = parts[0], parts[1], int(parts[2]), parts[3]
        if kind == "end":
            lines.append(
                Line(kind, worker, attempt, phone, float(parts[6]), parts[4], parts[5] == "1")
            )
        else:
            lines.append(Line(kind, worker, attempt, phone, float(parts[4])))
    return lines


@dataclass
class Findings:
    dials: int = 0
    outcomes: int = 0
    answered_with_outcome: int = 0
    unknown_results: int = 0  # killed mid-call, or between the carrier's answer and the journal
    overlapping: list[str] = field(default_factory=list)
    redialled_attempts: list[str] = field(default_factory=list)
    dialled_after_opt_out: list[str] = field(default_factory=list)
    lost_outcomes: list[str] = field(default_factory=list)
    opt_outs_missing: list[str] = field(default_factory=list)
    over_cap: list[str] = field(default_factory=list)
    lost_dials: int = 0
    retries_refused_by_caps: int = 0


def check(sessions: sessionmaker[Session], carrier_log: Path, chaos: Chaos) -> Findings:
    lines = read_carrier_log(carrier_log)
    found = Findings()
    dials = [x for x in lines if x.kind == "dial"]
    ends = {x.attempt: x for x in lines if x.kind == "end"}
    opt_outs = [x for x in lines if x.kind == "optout"]
    found.dials = len(dials)
    # 1. No attempt dialled twice; no phone on two calls at once (killed calls end at the kill).
    for attempt, count in Counter(d.attempt for d in dials).items():
        if count > 1:
            found.redialled_attempts.append(f"attempt {attempt} dialled {count} times")
    by_phone: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for d in dials:
        end = ends[d.attempt].wall if d.attempt in ends else chaos.kills.get(d.worker, 1e18)
        by_phone[d.phone].append((d.wall, end))
    for phone, spans in by_phone.items():
        spans.sort()
        busy_until = float("-inf")
        for start, end in spans:
            if start < busy_until:
                found.overlapping.append(phone)
            busy_until = max(busy_until, end)
    # 2. Nobody is dialled after saying stop.
    for o in opt_outs:
        later = [d for d in dials if d.phone == o.phone and d.wall > o.wall]
        if later:
            found.dialled_after_opt_out.append(f"{o.phone} at {later[0].wall - o.wall:.1f}s")
    with sessions() as s:
        records = dict(s.execute(select(m.CallRecord.attempt_id, m.CallRecord.disposition)).all())
        attempts = {a.id: a for a in s.scalars(select(m.CallAttempt)).all()}
        opted = set(s.scalars(select(m.OptOut.attempt_id)).all())
        refused = s.scalars(
            select(m.AuditEntry.rule).where(m.AuditEntry.action == "dial_refused")
        ).all()
    found.outcomes = len(records)
    found.lost_dials = sum(1 for a in attempts.values() if a.status == "lost")
    found.retries_refused_by_caps = sum(1 for r in refused if r == "co_one_contact_per_day")
    for o in opt_outs:
        if o.attempt not in opted:
            found.opt_outs_missing.append(f"attempt {o.attempt}")
    # 3. No outcome lost: a call the dialog ended was journaled before the line hung up.
    for attempt, end in ends.items():
        stored = records.get(attempt) or attempts[attempt].disposition
        if end.ended_by_dialog:
            found.answered_with_outcome += 1
            if stored != end.disposition:
                found.lost_outcomes.append(f"attempt {attempt}: {end.disposition} → {stored}")
        elif stored is None:
            found.unknown_results += 1
    found.unknown_results += sum(1 for d in dials if d.attempt not in ends)
    # 4. Caps from the carrier's log: one contact a day (an unknown result is a contact).
    contacts: Counter[str] = Counter()
    for d in dials:
        end = ends.get(d.attempt)
        if end is None or end.disposition in CONTACTS:
            contacts[d.phone] += 1
    found.over_cap = [f"{phone}: {n}" for phone, n in contacts.items() if n > 1]
    return found


def summary(chaos: Chaos, found: Findings) -> str:
    return (
        f"dials {found.dials}, outcomes {found.outcomes}, kills {len(chaos.kills)}, "
        f"crashed on their own {len(chaos.crashed)}, lost dials {found.lost_dials}, "
        f"unknown results {found.unknown_results}, retries refused by the daily cap "
        f"{found.retries_refused_by_caps}, attempts dialled twice {len(found.redialled_attempts)}, "
        f"overlapping calls {len(found.overlapping)}, dialled after opt-out "
        f"{len(found.dialled_after_opt_out)}, outcomes lost {len(found.lost_outcomes)}, "
        f"opt-outs missing {len(found.opt_outs_missing)}, over the cap {len(found.over_cap)}, "
        f"dead workers' slots still counted {len(chaos.dead_slot_samples)} "
        f"of {chaos.samples} samples, phases "
        + " ".join(f"{k}={v:.0f}s" for k, v in chaos.phases.items())
    )


if __name__ == "__main__":
    worker_main()
