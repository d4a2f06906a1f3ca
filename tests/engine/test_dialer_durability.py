"""A debtor who says stop while the database is down is never dialled again; nothing is lost.

The worker rides out the outage (claims pause, the call goes on, the opt-out and the
outcome wait in its fsynced journal), resumes on its own when the database is back,
and a dead worker's journal is replayed by the next worker, once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dialer_world import WORK_TIME, phone_of, portfolio_csv
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from testbeds.postgres import PostgresServer
from voicebot.campaigns.lifecycle import launch_campaign
from voicebot.campaigns.portfolio import import_csv
from voicebot.data import DEFAULT_DIALPLAN
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.domain.outcome import CallOutcome, Disposition
from voicebot.engine.dialer import CallResult, Dialer, DialRequest
from voicebot.engine.journal import OUTCOME, Journal, read_pending
from voicebot.engine.settlement import outcome_data
from voicebot.engine.text_runner import ScriptedTextRunner
from voicebot.storage import models as m
from voicebot.storage.db import make_engine, session_factory, upgrade

ROOT = Path(__file__).resolve().parents[2]


def one_debtor_campaign(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as s:
        campaign = m.Campaign(
            name="alto", dialplan="cobranza_es", jurisdiction="CO", default_region="CO"
        )
        s.add(campaign)
        s.flush()
        campaign_id = campaign.id
    import_csv(sessions, portfolio_csv(1), default_region="CO", campaign_id=campaign_id)
    with sessions.begin() as s:
        launch_campaign(s, campaign_id=campaign_id, now=WORK_TIME, actor="test")
    return campaign_id


class GatedRunner(ScriptedTextRunner):
    """The debtor answers, then waits for the test's go before speaking."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        plan = load_dialplan(DEFAULT_DIALPLAN)
        super().__init__(plan, {phone_of(0): ("no me vuelvan a llamar",)}, clock=clock)
        self.answered = asyncio.Event()
        self.speak = asyncio.Event()

    async def run(self, request: DialRequest) -> CallResult:
        self.answered.set()
        await self.speak.wait()
        return await super().run(request)


async def until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.05)


def test_an_opt_out_said_while_the_database_is_down_is_kept_and_honoured(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    url = postgres.create_database("durable")
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    campaign_id = one_debtor_campaign(sessions)
    with sessions.begin() as s:
        first = s.scalars(select(m.CallAttempt)).one()
        # Another attempt for the same debtor is already due: it must never be dialled.
        s.add(
            m.CallAttempt(
                campaign_id=campaign_id,
                debtor_id=first.debtor_id,
                phone_id=first.phone_id,
                kind="callback",
                due_at=WORK_TIME,
            )
        )
    start = datetime.now(UTC)

    def clock() -> datetime:
        return (WORK_TIME + (datetime.now(UTC) - start)).astimezone(UTC)

    runner = GatedRunner(clock)
    dialer = Dialer(
        sessions, runner, worker_id="w1", clock=clock, lease_seconds=3, journal_dir=tmp_path
    )

    async def scenario() -> tuple[dict[str, object], list[str], dict[str, object]]:
        work = asyncio.create_task(dialer.run(campaign_id=campaign_id, until_idle=False))
        await runner.answered.wait()
        await asyncio.to_thread(postgres.go_down)
        runner.speak.set()  # "no me vuelvan a llamar" while nobody can write it down
        await until(lambda: dialer.health()["database"] == "down")
        await until(lambda: int(str(dialer.health()["unsaved_writes"])) >= 2)
        during = dialer.health()
        assert dialer.journal.path is not None
        on_disk = [
            str(e.data.get("action") or e.kind)
            for e in read_pending(dialer.journal.path.read_text(encoding="utf-8"))
        ]
        await asyncio.to_thread(postgres.come_back)
        await until(
            lambda: dialer.health()["database"] == "up" and dialer.health()["unsaved_writes"] == 0
        )
        # Idle: the other attempt was considered (and refused) by now, or is not due.
        await until(lambda: dialer.stats.refused >= 1)
        after = dialer.health()
        work.cancel()
        return during, on_disk, after

    during, on_disk, after = asyncio.run(scenario())
    assert during["claiming"] is False and during["calls_in_progress"] == 1
    assert "opt_out" in on_disk and OUTCOME in on_disk
    assert after["database"] == "up" and after["outages"] >= 1
    assert [phone for phone, _ in runner.calls] == [phone_of(0)]  # dialled once, never again
    with sessions() as s:
        record = s.scalars(select(m.CallRecord)).one()
        assert (record.disposition, record.opt_out) == (Disposition.DNC.value, True)
        assert s.scalars(select(m.OptOut.attempt_id)).all() == [record.attempt_id]
        other = s.scalars(select(m.CallAttempt).where(m.CallAttempt.kind == "callback")).one()
        assert (other.status, other.started_at) == ("cancelled", None)
        refusal = s.scalars(
            select(m.AuditEntry.rule).where(
                m.AuditEntry.action == "dial_refused", m.AuditEntry.attempt_id == other.id
            )
        ).one()
        assert "opt" in refusal
    engine.dispose()


def test_a_dead_workers_journal_is_replayed_once_by_the_next_worker(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    campaign_id = one_debtor_campaign(sessions)
    now = WORK_TIME.astimezone(UTC)
    with sessions.begin() as s:
        attempt = s.scalars(select(m.CallAttempt)).one()
        attempt.status, attempt.claimed_by = "dialing", "dead"
        attempt.started_at, attempt.lease_expires_at = now, now + timedelta(seconds=30)
        attempt_id, debtor_id = attempt.id, attempt.debtor_id
    # The dead worker had journaled a promise and the outcome, then died before the commit.
    dead = Journal(tmp_path, "dead")
    outcome = CallOutcome(
        Disposition.DNC, now, now + timedelta(seconds=40), opt_out=True, final_state="bye"
    )
    dead.append(
        "action",
        attempt_id=attempt_id,
        debtor_id=debtor_id,
        at=now.isoformat(),
        data={"action": "opt_out"},
    )
    dead.append(
        OUTCOME,
        attempt_id=attempt_id,
        debtor_id=debtor_id,
        at=(now + timedelta(seconds=40)).isoformat(),
        data=outcome_data(outcome),
    )
    with dead.path.open("a", encoding="utf-8") as torn:  # type: ignore[union-attr]
        torn.write('{"seq": 3, "kind": "outc')  # killed mid-append: never fsynced
    dead._file.close()  # type: ignore[union-attr]  # the process is gone: its lock with it
    plan = load_dialplan(DEFAULT_DIALPLAN)
    for name in ("heir", "second-heir"):  # the second finds nothing left to replay
        dialer = Dialer(
            sessions,
            ScriptedTextRunner(plan, {}, clock=lambda: now),
            worker_id=name,
            clock=lambda: now,
            journal_dir=tmp_path,
        )
        asyncio.run(dialer.run(campaign_id=campaign_id, until_idle=True))
        dialer.close()  # nothing unsaved: its own journal goes too
        assert dialer.stats.replayed == (2 if name == "heir" else 0)
    with sessions() as s:
        done = s.get_one(m.CallAttempt, attempt_id)
        assert (done.status, done.disposition) == ("done", "DNC")
        assert len(s.scalars(select(m.CallRecord)).all()) == 1
        assert len(s.scalars(select(m.OptOut)).all()) == 1
    assert not list(tmp_path.glob("*.jsonl"))  # replayed journals are gone
