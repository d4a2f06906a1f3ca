"""Dialer throughput on a 100,000-debtor portfolio, SQLite and PostgreSQL.

Run: .venv/bin/python bench/bench_dialer.py [--debtors 100000] [--cycles 2000]

Prints, per database:
- queueing: first attempts put in the hopper by ``launch_campaign`` (priority computed);
- compliance alone: ``check()`` on facts and history read from the database, in memory;
- dial cycle: claim (SKIP LOCKED / atomic UPDATE), compliance immediately before the
  dial with its audit entry, the call on an instant simulated carrier that answers
  "no answer", the outcome write-back and the retry it schedules. This is the
  dialer's own cost per call, the ceiling a campaign's calls-per-second can reach
  with one worker.
A refusal sweep then runs the same cycle on a Sunday (every dial refused and
rescheduled to Monday 07:00, each with its audit entry).

Measured 2026-11-23 on the 2-core build machine (load average ~2), one worker:
SQLite: queueing 10,700/s, compliance 14,300 checks/s, dial cycle 123/s, refusal 253/s;
PostgreSQL 15: queueing 3,600/s, compliance 17,000 checks/s, dial cycle 73/s, refusal 138/s.
Under load average ~10 (other suites running) the dial cycle fell to 61/s and 20/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import _repo  # noqa: F401  (puts testbeds/ on sys.path)
from bench_import import portfolio_csv
from sqlalchemy import func, select

from testbeds.postgres import start_postgres
from voicebot.campaigns.compliance import check
from voicebot.campaigns.lifecycle import launch_campaign
from voicebot.campaigns.portfolio import import_csv
from voicebot.domain.outcome import Disposition
from voicebot.engine.dial_facts import dial_facts
from voicebot.engine.dialer import CallResult, Dialer, DialRequest
from voicebot.storage import models as m
from voicebot.storage.db import make_engine, session_factory, upgrade
from voicebot.telephony.carrier import DialFailure

BOGOTA = ZoneInfo("America/Bogota")
TUESDAY = datetime(2026, 11, 24, 10, 0, tzinfo=BOGOTA)
SUNDAY = datetime(2026, 11, 29, 10, 0, tzinfo=BOGOTA)


class NoAnswerCarrier:
    """A carrier on which nobody ever picks up, instantly: only the dialer's cost remains."""

    async def run(self, request: DialRequest) -> CallResult:
        return DialFailure(Disposition.NA, 408, "no answer")


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def cycle(sessions: object, campaign_id: int, now: datetime, cycles: int, batch: int) -> float:
    """Attempts per second through claim, compliance, call and write-back."""
    clock = FixedClock(now)
    dialer = Dialer(
        sessions,  # type: ignore[arg-type]
        NoAnswerCarrier(),
        worker_id="bench",
        clock=clock,
        max_concurrent=batch,
    )

    async def go() -> None:
        while dialer.stats.claimed < cycles:
            before = dialer.stats.claimed
            await dialer.tick(campaign_id=campaign_id)
            await dialer.drain()
            if dialer.stats.claimed == before:
                break  # nothing due any more

    started = time.perf_counter()
    asyncio.run(go())
    return dialer.stats.claimed / (time.perf_counter() - started)


def measure(url: str, text: str, debtors: int, cycles: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    with sessions.begin() as s:
        campaign = m.Campaign(
            name="bench",
            dialplan="cobranza_es",
            jurisdiction="CO",
            default_region="CO",
            max_concurrent=10_000,
            calls_per_second=100_000.0,
        )
        s.add(campaign)
        s.flush()
        campaign_id = campaign.id
    started = time.perf_counter()
    report = import_csv(sessions, text, default_region="CO", campaign_id=campaign_id)
    assert report.imported == debtors, report.errors[:3]
    print(f"  import               {time.perf_counter() - started:7.1f} s (setup, not the figure)")

    started = time.perf_counter()
    with sessions.begin() as s:
        queued = launch_campaign(s, campaign_id=campaign_id, now=TUESDAY, actor="bench")
    elapsed = time.perf_counter() - started
    print(f"  queueing             {queued:>9,} attempts {queued / elapsed:9,.0f} attempts/s")

    with sessions() as s:
        attempts = s.scalars(select(m.CallAttempt).limit(cycles)).all()
        facts = [dial_facts(s, attempt) for attempt in attempts]
    now = TUESDAY.astimezone(UTC)
    started = time.perf_counter()
    allowed = sum(check(f, h, now).allowed for f, h in facts)
    elapsed = time.perf_counter() - started
    print(
        f"  compliance alone     {len(facts):>9,} checks   {len(facts) / elapsed:9,.0f} checks/s"
        f"   ({allowed:,} allowed)"
    )

    for label, when in (("dial cycle (Tuesday)", TUESDAY), ("refusal (Sunday)", SUNDAY)):
        rate = cycle(sessions, campaign_id, when, cycles, batch=200)
        with sessions() as s:
            audited = (
                s.scalar(
                    select(func.count())
                    .select_from(m.AuditEntry)
                    .where(m.AuditEntry.action.in_(("dial_allowed", "dial_refused")))
                )
                or 0
            )
        print(
            f"  {label:20} {cycles:>9,} attempts {rate:9,.0f} attempts/s"
            f"   (audit entries so far {audited:,}; load average {os.getloadavg()[0]:.1f})"
        )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--debtors", type=int, default=100_000)
    parser.add_argument("--cycles", type=int, default=2_000)
    args = parser.parse_args()
    text = portfolio_csv(args.debtors)
    print(f"portfolio: {args.debtors:,} debtors (Colombia); {args.cycles:,} attempts per cycle run")
    with tempfile.TemporaryDirectory() as tmp:
        print("SQLite:")
        measure(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", text, args.debtors, args.cycles)
    server = start_postgres()
    try:
        print("PostgreSQL:")
        measure(server.url, text, args.debtors, args.cycles)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
