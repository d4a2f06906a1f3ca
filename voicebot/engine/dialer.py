"""The dialer worker: claim due attempts from the shared hopper, check compliance, call, record.

The hopper's SQL (claims, leases, reaping) is in ``engine.hopper``, the facts given
to compliance in ``engine.dial_facts``, what an outcome sets in motion in
``engine.follow_ups``, the durable path of a call's decisions in ``engine.journal``
and ``engine.settlement``, and the agent desk's transfers in ``storage.transfers``;
this module is the loop that ties them together for one worker process.

Crash and outage safety, in the order a dial goes: the dial record is committed
before the call is placed (a dial with no result counts as a contact); the lease
is a short heartbeat renewed while the call runs and checked on every renewal (a
worker that lost it stops the call); every record action and the outcome go to the
local journal (fsync) before the database; database errors pause claiming while
calls carry on and writes retry with backoff; one clock (the dialer's) stamps every
audit row of the dial.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from voicebot.actions import Action, EndCall, Transfer
from voicebot.campaigns.compliance import (
    CAMPAIGN,
    Decision,
    DialFacts,
    RulesError,
    campaign_rules,
    check,
    default_rules,
    facts_record,
    required_dialog_settings,
)
from voicebot.domain.context import CallContext
from voicebot.domain.outcome import CallOutcome, Disposition
from voicebot.engine.best_hour import HourBoosts
from voicebot.engine.call_loop import ActionSink
from voicebot.engine.db_health import DATABASE_DOWN, UP, DatabaseHealth
from voicebot.engine.dial_facts import dial_facts
from voicebot.engine.hopper import (
    HopperContended,
    claim_attempts,
    database_uptime_s,
    holds_lease,
    reap_expired_leases,
    renew_lease,
    start_dial,
)
from voicebot.engine.journal import ACTION, FAILURE, OUTCOME, Entry, Journal, orphans
from voicebot.engine.pacing import Pacer, TokenBucket, campaign_bucket
from voicebot.engine.settlement import (
    DISCARDED,
    action_data,
    failure_data,
    outcome_data,
    settle,
)
from voicebot.followups.policy import link_offer_channel
from voicebot.storage import models as m
from voicebot.storage.repositories import append_audit, call_context
from voicebot.storage.transfers import queue_transfer
from voicebot.telephony.carrier import DialFailure

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DialRequest:
    attempt_id: int
    phone: str
    context: CallContext
    # Sees every action as the dialog decides it (the runner passes it to run_call): the
    # dialer records a warm transfer for the agent desk the moment it is requested.
    on_action: ActionSink | None = None
    # The dialer's clock: a line without a clock of its own stamps the outcome with it, so
    # every audit row and outcome time of one dial shares one time base.
    clock: Callable[[], datetime] | None = None


CallResult = CallOutcome | DialFailure


class CallRunner(Protocol):
    """Places the call and runs the dialog: whatever the carrier, an outcome or a failure."""

    async def run(self, request: DialRequest) -> CallResult: ...


Clock = Callable[[], datetime]


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class DialerStats:
    claimed: int = 0
    dialed: int = 0
    refused: int = 0
    completed: int = 0
    leases_lost: int = 0  # calls stopped because another worker (or a reaper) took the lease
    replayed: int = 0  # journal entries written on behalf of a dead worker
    refusals_by_rule: dict[str, int] = field(default_factory=dict)


class Dialer:
    """One worker's loop over the shared hopper."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        runner: CallRunner,
        *,
        worker_id: str | None = None,
        clock: Clock = lambda: datetime.now(UTC),
        lease_seconds: float = 15,
        max_concurrent: int = 10,
        on_result: Callable[[DialRequest, CallResult], None] = lambda request, result: None,
        trunk: TokenBucket | None = None,
        journal_dir: Path | None = None,
        max_call_seconds: float = 1800,
    ) -> None:
        self.sessions = sessions
        self.runner = runner
        self.worker_id = worker_id or default_worker_id()
        self.clock = clock
        # A heartbeat, not the call's length: renewed every third of it while the call runs.
        self.lease = timedelta(seconds=lease_seconds)
        # The call's own limit, enforced here: a stuck line ends as FAIL, it does not hold a
        # lease (and a debtor) forever.
        self.max_call_s = max_call_seconds
        self.max_concurrent = max_concurrent  # this worker's trunk capacity
        self.on_result = on_result  # progress displays and metrics
        self.trunk = trunk  # the carrier trunk's calls per second, shared by every campaign
        self.stats = DialerStats()
        self.database = DatabaseHealth()
        self.journal = Journal(journal_dir, self.worker_id)
        self._live: set[asyncio.Task[None]] = set()
        self._lost: set[int] = set()  # attempts whose lease this worker lost mid-call
        self._ended: dict[int, Entry] = {}  # outcomes journaled at the dialog's EndCall
        self._settling: set[int] = set()  # attempts whose result a call task is writing
        self._debtors: dict[int, int] = {}  # attempt → debtor, for calls in progress
        self._pacers: dict[int, Pacer] = {}
        self._hour_boosts = HourBoosts()
        self._paced = False  # the last tick stopped because a bucket was empty
        self._contended = False  # the last tick lost every claim race: work may still be due
        # Claimed by this worker but not yet admitted (the database failed between the claim
        # and the dial record): admitted first on the next tick, never left to expire.
        self._held: list[int] = []
        self._unpaced: set[int] = set()  # campaigns run on a frozen clock

    # ---------------------------------------------------------------- loop

    async def run(
        self, *, campaign_id: int, until_idle: bool = True, poll_s: float = 0.5
    ) -> DialerStats:
        """Dial until nothing is due (``until_idle``) or forever; returns what was done."""
        while True:
            try:
                self._catch_up()
                started = await self.tick(campaign_id=campaign_id)
            except DATABASE_DOWN as exc:
                # Ride it out: calls in progress carry on, claiming waits.
                await asyncio.sleep(self.database.failed(exc, self.clock()))
                continue
            self.database.succeeded(self.clock())
            if not started and self._paced:
                await self._wait_for_pace(campaign_id)
            elif not started and not self._live:
                idle = not self._contended and not self._held and not self.journal.pending()
                if until_idle and idle:
                    return self.stats
                await asyncio.sleep(poll_s)
            elif not started:
                # A free line keeps looking (a callback falls due, a row another worker had
                # locked frees up); a full worker waits for one of its calls to end.
                free = len(self._live) < self.max_concurrent
                await asyncio.wait(
                    self._live,
                    timeout=poll_s if free else None,
                    return_when=asyncio.FIRST_COMPLETED,
                )

    def close(self) -> None:
        """The worker is stopping: release its journal (kept on disk if anything is unsaved)."""
        self.journal.close()

    def _catch_up(self) -> None:
        """Before claiming: unsaved writes, dead workers' journals, dead workers' leases."""
        now = self.clock()
        for entry in self.journal.pending():
            if entry.attempt_id not in self._settling:
                self._settle_once(entry)
        self._adopt_orphans()
        # A lease that expired while the database was down (or away from this worker) may
        # belong to a live worker that could not renew: only a lease left unrenewed for a
        # whole lease while the database was up, as both sides saw it, is proven dead.
        if self.database.since is None:
            self.database.succeeded(now)
        lease_s = self.lease.total_seconds()
        if self.database.up_for(now) >= lease_s:
            uptime = database_uptime_s(self.sessions)
            if uptime is None or uptime >= lease_s:
                reap_expired_leases(self.sessions, now=now, actor=self.worker_id)

    async def _wait_for_pace(self, campaign_id: int) -> None:
        before = self.clock()
        await asyncio.sleep(self._pacer(campaign_id).wait_s(before))
        if self.clock() <= before:
            # A frozen simulated clock (calls that take no time) can never refill a
            # bucket: pacing has no meaning on it, so stop pacing instead of hanging.
            log.warning("clock frozen at %s: campaign %s dials unpaced", before, campaign_id)
            self._unpaced.add(campaign_id)

    async def tick(self, *, campaign_id: int) -> int:
        """Claim what pacing allows, start those calls; returns how many were started."""
        self._paced = False
        self._contended = False
        free = self.max_concurrent - len(self._live)
        if free <= 0:
            return 0
        pacer = self._pacer(campaign_id)
        now = self.clock()
        if self._held:
            # Claims a database failure interrupted: this worker still holds them (``_admit``
            # checks the lease), so they are admitted before anything new is claimed.
            started = self._start(self._held[:free])
            if started:
                if campaign_id not in self._unpaced:
                    pacer.spend(started, now)
                return started
            # None could be dialled (refused, or their leases lost meanwhile): claim as usual.
        allowance = free if campaign_id in self._unpaced else pacer.allowance(now)
        if allowance <= 0:
            self._paced = True
            return 0
        with self.sessions() as s:
            boosts = self._hour_boosts.for_campaign(s, campaign_id, now)
        try:
            claimed = claim_attempts(
                self.sessions,
                campaign_id=campaign_id,
                worker_id=self.worker_id,
                now=now,
                lease=self.lease,
                limit=min(free, allowance),
                boosts=boosts,
            )
        except HopperContended as exc:
            # Losing every race is not "nothing due": an idle worker would stop early.
            log.info("%s", exc)
            self._contended = True
            return 0
        self.stats.claimed += len(claimed)
        self._held.extend(claimed)
        started = self._start(claimed)
        if started and campaign_id not in self._unpaced:
            pacer.spend(started, now)
        return started

    def _start(self, claimed: list[int]) -> int:
        """Admit and start held claims in order; a database failure keeps the rest held."""
        started = 0
        for attempt_id in claimed:
            request = self._admit(attempt_id)  # DATABASE_DOWN propagates: the rest stay held
            self._held.remove(attempt_id)
            if request is None:
                continue
            task = asyncio.create_task(self._call(request))
            self._live.add(task)
            task.add_done_callback(self._live.discard)
            started += 1
        return started

    def _pacer(self, campaign_id: int) -> Pacer:
        if campaign_id not in self._pacers:
            with self.sessions() as s:
                rate = s.get_one(m.Campaign, campaign_id).calls_per_second
            self._pacers[campaign_id] = Pacer(campaign_bucket(rate), self.trunk)
        return self._pacers[campaign_id]

    async def drain(self) -> None:
        if self._live:
            await asyncio.gather(*self._live)

    def health(self) -> dict[str, object]:
        """What the worker's health endpoint shows: database state, calls, unsaved writes."""
        return {
            "worker": self.worker_id,
            "database": self.database.state,
            "database_since": self.database.since.isoformat() if self.database.since else None,
            "last_error": self.database.last_error,
            "outages": self.database.outages,
            "claiming": self.database.state == UP,
            "calls_in_progress": len(self._live),
            "unsaved_writes": len(self.journal.pending()),
            "leases_lost": self.stats.leases_lost,
        }

    # ---------------------------------------------------------------- one attempt

    def _admit(self, attempt_id: int) -> DialRequest | None:
        """Compliance immediately before the dial; a refusal reschedules the attempt."""
        now = self.clock()
        with self.sessions.begin() as s:
            attempt = s.get_one(m.CallAttempt, attempt_id)
            if not holds_lease(s, attempt, self.worker_id):
                log.warning("attempt %s: lease lost before the dial, not dialed", attempt_id)
                return None
            decision, facts = self._decide(s, attempt, now)
            if not decision.allowed:
                self._refuse(s, attempt, decision, now)
                return None
            if not start_dial(s, attempt_id=attempt_id, worker_id=self.worker_id, at=now):
                return None
            zone = ZoneInfo(decision.timezone or "UTC")
            append_audit(
                s,
                actor=self.worker_id,
                action="dial_allowed",
                debtor_id=attempt.debtor_id,
                campaign_id=attempt.campaign_id,
                attempt_id=attempt.id,
                reason=f"{', '.join(facts.jurisdictions)} at {now.astimezone(zone):%Y-%m-%d %H:%M %Z}",
                details={
                    "facts": facts_record(facts, s.get_one(m.Debtor, attempt.debtor_id).region)
                },
                at=now,
            )
            ctx = call_context(
                s, attempt_id=attempt_id, today=now.astimezone(zone).date(), timezone=zone.key
            )
            # What the law makes every call say (US: the opt-out notice), whatever the campaign set.
            campaign = s.get_one(m.Campaign, attempt.campaign_id)
            ctx = replace(
                ctx,
                settings={
                    **ctx.settings,
                    "payment_link_channel": link_offer_channel(campaign.messaging),
                    **required_dialog_settings(campaign.jurisdiction),
                },
            )
            phone = s.get_one(m.Phone, attempt.phone_id).e164 if attempt.phone_id else ""
            debtor_id = attempt.debtor_id
        self.stats.dialed += 1
        self._debtors[attempt_id] = debtor_id
        sink = self._action_sink(attempt_id, debtor_id)
        return DialRequest(attempt_id, phone, ctx, sink, self.clock)

    def _decide(
        self, s: Session, attempt: m.CallAttempt, now: datetime
    ) -> tuple[Decision, DialFacts]:
        facts, history = dial_facts(s, attempt)
        if attempt.debtor_id in self.journal.opted_out_debtors():
            # Said stop on one of our calls while the database could not hear it yet.
            facts = replace(facts, opted_out=True)
        campaign = s.get_one(m.Campaign, attempt.campaign_id)
        try:
            own = campaign_rules(campaign.schedule or {}, campaign.name)
        except RulesError as exc:
            # Nothing is lost: the attempt waits until the schedule is fixed.
            return Decision(
                False, "campaign_schedule_invalid", str(exc), now + timedelta(hours=1)
            ), facts
        rules = default_rules()
        if own is not None:
            rules = {**rules, CAMPAIGN: own}
            facts = replace(facts, jurisdictions=(*facts.jurisdictions, CAMPAIGN))
        return check(facts, history, now, rules), facts

    def _refuse(
        self, s: Session, attempt: m.CallAttempt, decision: Decision, now: datetime
    ) -> None:
        self.stats.refused += 1
        self.stats.refusals_by_rule[decision.rule] = (
            self.stats.refusals_by_rule.get(decision.rule, 0) + 1
        )
        append_audit(
            s,
            actor=self.worker_id,
            action="dial_refused",
            debtor_id=attempt.debtor_id,
            campaign_id=attempt.campaign_id,
            attempt_id=attempt.id,
            rule=decision.rule,
            reason=decision.reason,
            details={
                "next_allowed_at": decision.next_allowed_at.isoformat()
                if decision.next_allowed_at
                else None
            },
            at=now,
        )
        attempt.claimed_by = None
        attempt.lease_expires_at = None
        if decision.next_allowed_at is None:
            attempt.status = "cancelled"
            attempt.error = f"refused by compliance: {decision.rule}"
        else:
            attempt.status = "queued"
            attempt.due_at = decision.next_allowed_at

    async def _call(self, request: DialRequest) -> None:
        call = asyncio.create_task(self.runner.run(request))
        heartbeat = asyncio.create_task(self._hold_lease(request.attempt_id, call))
        try:
            result: CallResult = await asyncio.wait_for(call, self.max_call_s)
        except asyncio.CancelledError:
            if request.attempt_id not in self._lost:
                raise
            # Stopped because the lease is gone: whatever it decided is not an outcome.
            self._lost.discard(request.attempt_id)
            self._debtors.pop(request.attempt_id, None)
            self.stats.leases_lost += 1
            log.error("attempt %s: lease lost mid-call, call stopped", request.attempt_id)
            return
        except Exception as exc:  # the carrier or a port failed: record, never lose the attempt
            log.exception("call for attempt %s failed", request.attempt_id)
            result = DialFailure(Disposition.FAIL, None, f"error: {type(exc).__name__}: {exc}")
        finally:
            heartbeat.cancel()
        entry = self._journal_result(request, result)
        await self._settle(entry)
        self.stats.completed += 1
        self.on_result(request, result)

    async def _hold_lease(self, attempt_id: int, call: asyncio.Task[CallResult]) -> None:
        """Renew the heartbeat lease; stop the call the moment it is known to be lost."""
        every = max(0.2, self.lease.total_seconds() / 3)
        delay = every
        while True:
            await asyncio.sleep(delay)
            try:
                held = renew_lease(
                    self.sessions,
                    attempt_id=attempt_id,
                    worker_id=self.worker_id,
                    until=self.clock() + self.lease,
                )
            except DATABASE_DOWN as exc:
                # Keep the call; renew as soon as the database is back (reapers wait a lease).
                delay = min(every, self.database.failed(exc, self.clock()))
                continue
            delay = every
            if not held:
                self._lost.add(attempt_id)
                call.cancel()
                return

    # ---------------------------------------------------------------- durable writes

    def _action_sink(self, attempt_id: int, debtor_id: int) -> ActionSink:
        """Each record action is journaled the moment it is decided, then written."""

        async def record(action: Action) -> None:
            at = self.clock().isoformat()
            if isinstance(action, Transfer):
                self._queue_transfer(attempt_id, action)
                return
            if isinstance(action, EndCall):
                data = outcome_data(action.outcome)
                self._ended[attempt_id] = self.journal.append(
                    OUTCOME, attempt_id=attempt_id, debtor_id=debtor_id, at=at, data=data
                )
                return
            data_or_none = action_data(action)
            if data_or_none is not None:
                entry = self.journal.append(
                    ACTION, attempt_id=attempt_id, debtor_id=debtor_id, at=at, data=data_or_none
                )
                self._settle_once(entry)

        return record

    def _queue_transfer(self, attempt_id: int, action: Transfer) -> None:
        try:
            with self.sessions.begin() as s:
                queue_transfer(
                    s, attempt_id=attempt_id, transfer=action, actor=self.worker_id, at=self.clock()
                )
        except DATABASE_DOWN as exc:
            # The desk cannot see it, so no agent takes it: the call goes on without one.
            self.database.failed(exc, self.clock())
            log.warning("attempt %s: transfer not queued, database down", attempt_id)

    def _journal_result(self, request: DialRequest, result: CallResult) -> Entry:
        ended = self._ended.pop(request.attempt_id, None)
        if isinstance(result, DialFailure):
            data, kind = failure_data(result), FAILURE
        else:
            data, kind = outcome_data(result), OUTCOME
        if ended is not None and ended.data == data:
            return ended
        if ended is not None:
            self.journal.acknowledge(ended)  # superseded by what the call really returned
        return self.journal.append(
            kind,
            attempt_id=request.attempt_id,
            debtor_id=self._debtors.pop(request.attempt_id),
            at=self.clock().isoformat(),
            data=data,
        )

    async def _settle(self, entry: Entry) -> None:
        """Write a journaled result, retrying with backoff through a database outage."""
        self._settling.add(entry.attempt_id)
        try:
            while not self._settle_once(entry):
                await asyncio.sleep(self.database.backoff.next_delay())
        finally:
            self._settling.discard(entry.attempt_id)

    def _settle_once(self, entry: Entry, *, actor: str | None = None) -> bool:
        """One try; True when the entry is done with (written, duplicate or discarded)."""
        try:
            with self.sessions.begin() as s:
                verdict = settle(s, entry, actor=actor or self.worker_id)
        except DATABASE_DOWN as exc:
            self.database.failed(exc, self.clock())
            return False
        except IntegrityError as exc:
            # A concurrent writer of the same facts won the race; the retry finds them written.
            log.info("journal entry %s raced another writer, retrying: %s", entry.seq, exc)
            return False
        if verdict == DISCARDED and entry.kind != ACTION:
            self.stats.leases_lost += 1
        self.journal.acknowledge(entry)
        return True

    def _adopt_orphans(self) -> None:
        """Replay the journals of dead workers on this machine (idempotent)."""
        for orphan in orphans(self.journal.directory, own=self.journal.path):
            try:
                for entry in orphan.entries:
                    with self.sessions.begin() as s:
                        settle(s, entry, actor=self.worker_id)
                    self.stats.replayed += 1
            except DATABASE_DOWN:
                orphan.keep()
                raise
            log.info("replayed %s entries of %s", len(orphan.entries), orphan.path.name)
            orphan.release()
