"""The dialer worker: claim due attempts from the shared hopper, check compliance, call, record.

The hopper's SQL (claims, leases, reaping) is in ``engine.hopper``, the facts given
to compliance in ``engine.dial_facts``, what an outcome sets in motion in
``engine.follow_ups`` and the agent desk's transfers in ``storage.transfers``; this
module is the loop that ties them together for one worker process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from voicebot.actions import Action, Transfer
from voicebot.campaigns.compliance import (
    CAMPAIGN,
    Decision,
    RulesError,
    campaign_rules,
    check,
    default_rules,
)
from voicebot.domain.context import CallContext
from voicebot.domain.outcome import CallOutcome, Disposition
from voicebot.engine.best_hour import HourBoosts
from voicebot.engine.call_loop import ActionSink
from voicebot.engine.dial_facts import dial_facts
from voicebot.engine.follow_ups import schedule_follow_ups
from voicebot.engine.hopper import (
    HopperContended,
    claim_attempts,
    reap_expired_leases,
    renew_lease,
)
from voicebot.engine.pacing import Pacer, TokenBucket, campaign_bucket
from voicebot.storage import models as m
from voicebot.storage.repositories import (
    append_audit,
    call_context,
    record_dial_failure,
    record_outcome,
)
from voicebot.storage.transfers import queue_transfer, settle_transfers
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
    dialled: int = 0
    refused: int = 0
    completed: int = 0
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
        lease_seconds: int = 120,
        max_concurrent: int = 10,
        on_result: Callable[[DialRequest, CallResult], None] = lambda request, result: None,
        trunk: TokenBucket | None = None,
    ) -> None:
        self.sessions = sessions
        self.runner = runner
        self.worker_id = worker_id or default_worker_id()
        self.clock = clock
        self.lease = timedelta(seconds=lease_seconds)
        self.max_concurrent = max_concurrent  # this worker's trunk capacity
        self.on_result = on_result  # progress displays and metrics
        self.trunk = trunk  # the carrier trunk's calls per second, shared by every campaign
        self.stats = DialerStats()
        self._live: set[asyncio.Task[None]] = set()
        self._pacers: dict[int, Pacer] = {}
        self._hour_boosts = HourBoosts()
        self._paced = False  # the last tick stopped because a bucket was empty
        self._contended = False  # the last tick lost every claim race: work may still be due
        self._unpaced: set[int] = set()  # campaigns run on a frozen clock

    # ---------------------------------------------------------------- loop

    async def run(
        self, *, campaign_id: int, until_idle: bool = True, poll_s: float = 0.5
    ) -> DialerStats:
        """Dial until nothing is due (``until_idle``) or forever; returns what was done."""
        while True:
            reap_expired_leases(self.sessions, now=self.clock(), actor=self.worker_id)
            started = await self.tick(campaign_id=campaign_id)
            if not started and self._paced:
                before = self.clock()
                await asyncio.sleep(self._pacer(campaign_id).wait_s(before))
                if self.clock() <= before:
                    # A frozen simulated clock (calls that take no time) can never refill a
                    # bucket: pacing has no meaning on it, so stop pacing instead of hanging.
                    log.warning(
                        "clock frozen at %s: campaign %s dials unpaced", before, campaign_id
                    )
                    self._unpaced.add(campaign_id)
            elif not started and not self._live:
                if until_idle and not self._contended:
                    return self.stats
                await asyncio.sleep(poll_s)
            elif not started:
                await asyncio.wait(self._live, return_when=asyncio.FIRST_COMPLETED)

    async def tick(self, *, campaign_id: int) -> int:
        """Claim what pacing allows, start those calls; returns how many were started."""
        self._paced = False
        self._contended = False
        free = self.max_concurrent - len(self._live)
        if free <= 0:
            return 0
        pacer = self._pacer(campaign_id)
        now = self.clock()
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
        started = 0
        for attempt_id in claimed:
            request = self._admit(attempt_id)
            if request is None:
                continue
            task = asyncio.create_task(self._call(request))
            self._live.add(task)
            task.add_done_callback(self._live.discard)
            started += 1
        if started and campaign_id not in self._unpaced:
            pacer.spend(started, now)
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

    # ---------------------------------------------------------------- one attempt

    def _admit(self, attempt_id: int) -> DialRequest | None:
        """Compliance immediately before the dial; a refusal reschedules the attempt."""
        now = self.clock()
        with self.sessions.begin() as s:
            attempt = s.get_one(m.CallAttempt, attempt_id)
            facts, history = dial_facts(s, attempt)
            campaign = s.get_one(m.Campaign, attempt.campaign_id)
            try:
                own = campaign_rules(campaign.schedule or {}, campaign.name)
            except RulesError as exc:
                # Nothing is lost: the attempt waits until the schedule is fixed.
                decision = Decision(
                    False, "campaign_schedule_invalid", str(exc), now + timedelta(hours=1)
                )
            else:
                rules = default_rules()
                if own is not None:
                    rules = {**rules, CAMPAIGN: own}
                    facts = replace(facts, jurisdictions=(*facts.jurisdictions, CAMPAIGN))
                decision = check(facts, history, now, rules)
            if not decision.allowed:
                self._refuse(s, attempt, decision, now)
                return None
            attempt.status = "dialing"
            attempt.started_at = now
            append_audit(
                s,
                actor=self.worker_id,
                action="dial_allowed",
                debtor_id=attempt.debtor_id,
                campaign_id=attempt.campaign_id,
                attempt_id=attempt.id,
                reason=f"{', '.join(facts.jurisdictions)} at {now.astimezone(ZoneInfo(decision.timezone or 'UTC')):%Y-%m-%d %H:%M %Z}",
                at=now,
            )
            local_today = now.astimezone(ZoneInfo(decision.timezone or "UTC")).date()
            ctx = call_context(
                s, attempt_id=attempt_id, today=local_today, timezone=decision.timezone
            )
            phone = s.get_one(m.Phone, attempt.phone_id).e164 if attempt.phone_id else ""
        self.stats.dialled += 1
        return DialRequest(attempt_id, phone, ctx, self._transfer_recorder(attempt_id))

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
        renew = asyncio.create_task(self._renew_lease(request.attempt_id))
        try:
            result = await self.runner.run(request)
        except Exception as exc:  # the carrier or a port failed: record, never lose the attempt
            log.exception("call for attempt %s failed", request.attempt_id)
            result = DialFailure(Disposition.FAIL, None, f"error: {type(exc).__name__}: {exc}")
        finally:
            renew.cancel()
        now = self.clock()
        with self.sessions.begin() as s:
            if isinstance(result, DialFailure):
                record_dial_failure(
                    s, attempt_id=request.attempt_id, failure=result, actor=self.worker_id, at=now
                )
            else:
                record_outcome(
                    s, attempt_id=request.attempt_id, outcome=result, actor=self.worker_id
                )
            schedule_follow_ups(s, attempt_id=request.attempt_id, now=now)
            taken = not isinstance(result, DialFailure) and result.disposition is Disposition.XFER
            settle_transfers(s, attempt_id=request.attempt_id, taken=taken)
        self.stats.completed += 1
        self.on_result(request, result)

    def _transfer_recorder(self, attempt_id: int) -> ActionSink:
        """Queue a warm transfer for the agent desk (API) the moment the dialog asks for it."""

        async def record(action: Action) -> None:
            if not isinstance(action, Transfer):
                return
            with self.sessions.begin() as s:
                queue_transfer(
                    s, attempt_id=attempt_id, transfer=action, actor=self.worker_id, at=self.clock()
                )

        return record

    async def _renew_lease(self, attempt_id: int) -> None:
        while True:
            await asyncio.sleep(max(1.0, self.lease.total_seconds() / 3))
            renew_lease(
                self.sessions,
                attempt_id=attempt_id,
                worker_id=self.worker_id,
                until=self.clock() + self.lease,
            )
