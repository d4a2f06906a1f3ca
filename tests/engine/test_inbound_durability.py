"""A crash mid-call never loses what a caller decided, and a caller is never redialled for it.

The listener's process (``inbound_crash_world.py``) is SIGKILLed in the middle of Ana's call,
after she promised to pay: the promise is in the database after recovery (written mid-call,
or replayed from the dead process's journal when the database was down), the call's attempt
is settled as ``lost`` by the reaper and nothing dials her because of it.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from inbound_crash_world import (
    ANA,
    CALLED_AT,
    FRIDAY,
    WORKER,
    line_context,
    seed,
)
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from testbeds.postgres import PostgresServer
from voicebot.actions import Listen, Say, Transfer
from voicebot.data import INBOUND_DIALPLAN
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.engine.hopper import claim_attempts, reap_expired_leases
from voicebot.engine.inbound import answer_inbound
from voicebot.engine.inbound_live import recover_inbound
from voicebot.engine.journal import Journal, read_pending
from voicebot.events import Dtmf, Hangup, NoInput, TransferCompleted, TransferFailed, Utterance
from voicebot.storage import models as m
from voicebot.storage.db import make_engine, session_factory, upgrade
from voicebot.telephony.text_line import SimulatedClock, TextLine

HERE = Path(__file__).resolve().parent
AFTER = CALLED_AT + timedelta(hours=1)  # long past the dead listener's lease
DEADLINE_S = 120  # a bound on a hung child, never a timing assumption


def wait_for(condition: Callable[[], bool], what: str) -> None:
    limit = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > limit:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.05)


@contextmanager
def doomed_listener(url: str, journal: Path, marks: Path) -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen(
        [sys.executable, str(HERE / "inbound_crash_world.py"), url, str(journal), str(marks)],
        cwd=HERE,
    )
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()


def kill(child: subprocess.Popen[bytes]) -> None:
    assert child.poll() is None, "the listener ended on its own: it was meant to die mid-call"
    child.send_signal(signal.SIGKILL)
    child.wait()


def the_call(s: Session) -> m.CallAttempt:
    return s.scalars(select(m.CallAttempt).where(m.CallAttempt.direction == "inbound")).one()


def recover(sessions: sessionmaker[Session], journal: Path) -> int:
    """A listener starting after the crash, until the dead one's call is settled."""
    heir = Journal(journal, "ivr:heir")
    replayed = 0

    def settled() -> bool:
        nonlocal replayed
        replayed += recover_inbound(sessions, heir, now=AFTER, lease_seconds=0.5)
        with sessions() as s:
            return the_call(s).status == "lost"

    wait_for(settled, "the dead listener's call settled")
    heir.close()
    return replayed


def assert_promise_kept_and_nothing_redialled(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        attempt = the_call(s)
        assert (attempt.kind, attempt.caller_id, attempt.claimed_by) == ("inbound", ANA, WORKER)
        assert attempt.status == "lost"  # cut mid-call: a contact whose outcome nobody knows
        promise = s.scalars(select(m.PromiseToPay)).one()
        assert (promise.attempt_id, promise.due_date) == (attempt.id, FRIDAY)
        assert promise.status == "pending"
        # The debtor called us: a lost inbound call is never redialled.
        assert s.scalars(select(m.CallAttempt).where(m.CallAttempt.id != attempt.id)).all() == []
        reaped = s.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "lease_expired")).one()
        assert reaped.attempt_id == attempt.id


def test_a_promise_made_before_the_listener_dies_is_in_the_database(
    db_url: str, tmp_path: Path
) -> None:
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    with sessions.begin() as s:
        seed(s)
    journal, marks = tmp_path / "journal", tmp_path / "marks"
    marks.mkdir()
    with doomed_listener(db_url, journal, marks) as child:
        wait_for((marks / "ready").exists, "Ana verified and about to confirm")
        with sessions() as s:
            live = the_call(s)  # the call is a live attempt while it runs
            assert (live.status, live.claimed_by) == ("in_call", WORKER)
        (marks / "go").touch()
        wait_for((marks / "promised").exists, "Ana's promise decided")
        kill(child)
    assert recover(sessions, journal) == 0  # written mid-call: nothing was left to replay
    assert_promise_kept_and_nothing_redialled(sessions)
    engine.dispose()


def test_a_promise_made_while_the_database_is_down_is_replayed_from_the_dead_journal(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    url = postgres.create_database("inbound_crash")
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    with sessions.begin() as s:
        seed(s)
    journal, marks = tmp_path / "journal", tmp_path / "marks"
    marks.mkdir()
    with doomed_listener(url, journal, marks) as child:
        wait_for((marks / "ready").exists, "Ana verified and about to confirm")
        postgres.go_down()
        try:
            (marks / "go").touch()
            wait_for((marks / "promised").exists, "Ana's promise decided")
            kill(child)
        finally:
            postgres.come_back()
    engine.dispose()  # connections from before the outage are dead
    (written,) = journal.glob("*.jsonl")
    pending = read_pending(written.read_text(encoding="utf-8"))
    assert [e.data.get("action") for e in pending] == ["promise"]  # only on the listener's disk
    assert recover(sessions, journal) == 1
    assert_promise_kept_and_nothing_redialled(sessions)
    assert not list(journal.glob("*.jsonl"))  # replayed, then removed
    engine.dispose()


class ClaimingLine:
    """Ana's side of the call; while it runs, another worker tries to claim her due dial."""

    def __init__(self, sessions: sessionmaker[Session], campaign_id: int) -> None:
        self.clock = SimulatedClock(CALLED_AT)
        self.inner = TextLine.scripted(["sí", "#1234", "no gracias"], clock=self.clock)
        self.sessions = sessions
        self.campaign_id = campaign_id
        self.claims: list[list[int]] = []

    def _inbound_live(self) -> bool:
        with self.sessions() as s:
            live = select(m.CallAttempt.id).where(
                m.CallAttempt.direction == "inbound", m.CallAttempt.status == "in_call"
            )
            return s.scalar(live) is not None

    async def say(self, say: Say) -> None:
        if not self.claims and self._inbound_live():
            claimed = claim_attempts(
                self.sessions,
                campaign_id=self.campaign_id,
                worker_id="w2",
                now=CALLED_AT,
                lease=timedelta(seconds=15),
                limit=5,
            )
            self.claims.append(claimed)
        await self.inner.say(say)

    async def listen(self, listen: Listen) -> Utterance | Dtmf | NoInput | Hangup:
        return await self.inner.listen(listen)

    async def transfer(self, transfer: Transfer) -> TransferCompleted | TransferFailed | Hangup:
        return await self.inner.transfer(transfer)

    async def hangup(self) -> None:
        await self.inner.hangup()


def test_a_debtor_who_calls_while_being_dialed_is_answered_and_not_dialed_twice(
    sessions: sessionmaker[Session],
) -> None:
    """Decided: the caller is answered (an inbound attempt is outside the one-live-dial index);
    the dial already under way goes on (it is its worker's); no further dial of that debtor
    is claimed while the inbound call is live."""
    with sessions.begin() as s:
        ids = seed(s)
        dialing = m.CallAttempt(
            campaign_id=ids["campaign"],
            debtor_id=ids["ana"],
            phone_id=ids["phone"],
            status="dialing",
            claimed_by="w1",
            lease_expires_at=AFTER,
        )
        s.add(dialing)
        s.add(m.CallAttempt(campaign_id=ids["campaign"], debtor_id=ids["ana"], due_at=CALLED_AT))
    line = ClaimingLine(sessions, ids["campaign"])
    call = asyncio.run(
        answer_inbound(
            load_dialplan(INBOUND_DIALPLAN),
            line,
            caller=ANA,
            sessions=sessions,
            line=line_context(),
            clock=line.clock,
            actor="ivr-test",
        )
    )
    assert line.claims == [[]]  # Ana's due dial was not claimed while she was on the line
    assert call.attempt_id is not None
    with sessions.begin() as s:
        inbound = s.get_one(m.CallAttempt, call.attempt_id)
        assert (inbound.status, inbound.direction) == ("done", "inbound")
        assert s.get_one(m.CallAttempt, dialing.id).status == "dialing"  # its worker's call
        # Both as if their workers had died mid-call: the reaper settles both, and queues a
        # retry for the dial only (compliance decides on it); the debtor's own call never.
        inbound.status, inbound.lease_expires_at = "in_call", CALLED_AT
        s.get_one(m.CallAttempt, dialing.id).lease_expires_at = CALLED_AT
    assert reap_expired_leases(sessions, now=AFTER, actor="reaper") == 2
    with sessions() as s:
        assert s.get_one(m.CallAttempt, call.attempt_id).status == "lost"
        retries = s.scalars(select(m.CallAttempt.error).where(m.CallAttempt.kind == "retry")).all()
    assert retries == [f"retry of lost attempt {dialing.id}"]
