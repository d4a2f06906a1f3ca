"""An inbound call while it runs: a live attempt, its decisions journaled, a dead worker's settled.

"A crash mid-call never loses an outcome" holds for calls the debtors make as for dials.
Once the caller is identified the call is a live attempt under this worker's lease (renewed
while the call runs); each record action the dialog decides (promise, opt-out, dispute,
invalid phone) goes through the worker's fsynced journal and ``settlement.settle`` exactly
as on a dial, and so does the outcome. A process killed mid-call leaves: the decisions
already written, the unwritten ones in its journal (replayed by whichever worker or listener
starts next, ``recover_inbound``), and an attempt whose lease runs out (the reaper makes it
``lost``, a contact, and never redials it: the debtor called us).

A caller never identified has no debtor to hold an attempt for and decides nothing that
needs one; that call is written when it ends (audit entry ``inbound_unidentified``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from voicebot.actions import Action, CallerIdentified, EndCall, Transfer
from voicebot.domain.outcome import CallOutcome
from voicebot.engine.call_loop import Clock
from voicebot.engine.db_health import DATABASE_DOWN
from voicebot.engine.follow_ups import schedule_follow_ups
from voicebot.engine.hopper import database_uptime_s, reap_expired_leases, renew_lease
from voicebot.engine.journal import ACTION, OUTCOME, Entry, Journal, orphans
from voicebot.engine.settlement import action_data, outcome_data, settle
from voicebot.storage.db import transaction
from voicebot.storage.inbound import open_inbound_attempt, record_inbound_call
from voicebot.storage.transfers import queue_transfer

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0


class LiveInboundCall:
    """One answered call's durable writes; ``record`` is the call loop's action sink."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        journal: Journal,
        *,
        caller_id: str,
        actor: str,
        clock: Clock,
        lease_seconds: float,
        on_attempt: Callable[[int], None] = lambda attempt_id: None,
    ) -> None:
        self.sessions = sessions
        self.on_attempt = on_attempt  # e.g. the recording, filed under the call once it exists
        self.journal = journal
        self.caller_id = caller_id
        self.actor = actor
        self.clock = clock
        self.lease = timedelta(seconds=lease_seconds)
        self.debtor_ref = ""
        self.attempt_id: int | None = None
        self._debtor_id = 0
        self._ended: Entry | None = None
        self._heartbeat: asyncio.Task[None] | None = None

    @property
    def worker(self) -> str:
        """The lease holder: one per process, as the journal's owner."""
        return self.journal.worker_id

    async def record(self, action: Action) -> None:
        if isinstance(action, CallerIdentified):
            self.debtor_ref = action.debtor_ref
            self._open()
            return
        if self.attempt_id is None:
            return  # nobody identified (or the database was down then): written at the end
        at = self.clock().isoformat()
        if isinstance(action, Transfer):
            self._queue_transfer(action)
        elif isinstance(action, EndCall):
            self._ended = self._append(OUTCOME, at, outcome_data(action.outcome))
        elif (data := action_data(action)) is not None:
            self._settle_once(self._append(ACTION, at, data))

    def _open(self) -> None:
        now = self.clock()
        try:
            with transaction(self.sessions) as s:
                opened = open_inbound_attempt(
                    s,
                    debtor_ref=self.debtor_ref,
                    caller_id=self.caller_id,
                    worker=self.worker,
                    at=now,
                    lease_until=now + self.lease,
                )
        except DATABASE_DOWN as exc:
            log.warning(
                "inbound call from %s: no live attempt, database down: %s", self.caller_id, exc
            )
            return
        if opened is None:
            return
        self.attempt_id, self._debtor_id = opened
        self._heartbeat = asyncio.create_task(self._hold_lease(self.attempt_id))
        try:
            self.on_attempt(self.attempt_id)
        except Exception:
            # The caller is on the line: the call goes on whatever its bookkeeping's fate.
            log.exception("inbound attempt %s: on_attempt failed", self.attempt_id)

    async def _hold_lease(self, attempt_id: int) -> None:
        """Renew the lease while the call runs. A lost lease does not stop the caller's call:
        its outcome is still written, onto the ``lost`` attempt the reaper left."""
        every = max(0.2, self.lease.total_seconds() / 3)
        while True:
            await asyncio.sleep(every)
            try:
                held = renew_lease(
                    self.sessions,
                    attempt_id=attempt_id,
                    worker_id=self.worker,
                    until=self.clock() + self.lease,
                )
            except DATABASE_DOWN:
                continue
            if not held:
                log.warning("inbound attempt %s: lease lost mid-call", attempt_id)
                return

    def _queue_transfer(self, action: Transfer) -> None:
        assert self.attempt_id is not None
        try:
            with self.sessions.begin() as s:
                queue_transfer(
                    s,
                    attempt_id=self.attempt_id,
                    transfer=action,
                    actor=self.actor,
                    at=self.clock(),
                )
        except DATABASE_DOWN:
            log.warning("inbound attempt %s: transfer not queued, database down", self.attempt_id)

    def _append(self, kind: str, at: str, data: dict[str, object]) -> Entry:
        assert self.attempt_id is not None
        return self.journal.append(
            kind, attempt_id=self.attempt_id, debtor_id=self._debtor_id, at=at, data=data
        )

    def _settle_once(self, entry: Entry) -> bool:
        try:
            with self.sessions.begin() as s:
                settle(s, entry, actor=self.actor)
        except DATABASE_DOWN as exc:
            log.warning("journal entry %s kept for later, database down: %s", entry.seq, exc)
            return False
        except IntegrityError as exc:
            log.info("journal entry %s raced another writer, retrying: %s", entry.seq, exc)
            return False
        self.journal.acknowledge(entry)
        return True

    def abandon(self) -> None:
        """The call failed without an outcome: stop renewing, so the reaper settles it (lost)."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()

    async def finish(self, outcome: CallOutcome) -> int | None:
        """Write the ended call; returns its attempt id (None: the caller was never identified)."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        if self.attempt_id is None:
            with transaction(self.sessions) as s:
                attempt_id = record_inbound_call(
                    s,
                    outcome=outcome,
                    debtor_ref=self.debtor_ref,
                    caller_id=self.caller_id,
                    actor=self.actor,
                )
                if attempt_id is not None:
                    s.flush()
                    schedule_follow_ups(
                        s, attempt_id=attempt_id, now=outcome.ended_at, retries=False
                    )
            return attempt_id
        data = outcome_data(outcome)
        entry = self._ended
        if entry is None or entry.data != data:
            if entry is not None:
                self.journal.acknowledge(entry)  # superseded by what the call really returned
            entry = self._append(OUTCOME, self.clock().isoformat(), data)
        delay = 0.5
        while not self._settle_once(entry):
            await asyncio.sleep(delay)  # the journal has it; the database will
            delay = min(delay * 2, MAX_BACKOFF_S)
        return self.attempt_id


def recover_inbound(
    sessions: sessionmaker[Session], journal: Journal, *, now: datetime, lease_seconds: float
) -> int:
    """What dead workers left: their journals replayed, their expired leases reaped.

    Returns how many journal entries were replayed. Reaping waits until the database has
    been up for a whole lease (a lease that ran out while it was down proves nothing).
    """
    replayed = 0
    for orphan in orphans(journal.directory, own=journal.path):
        try:
            for entry in orphan.entries:
                with sessions.begin() as s:
                    settle(s, entry, actor=journal.worker_id)
                replayed += 1
        except DATABASE_DOWN:
            orphan.keep()
            raise
        log.info("replayed %s entries of %s", len(orphan.entries), orphan.path.name)
        orphan.release()
    uptime = database_uptime_s(sessions)
    if uptime is None or uptime >= lease_seconds:
        reap_expired_leases(sessions, now=now, actor=journal.worker_id)
    return replayed
