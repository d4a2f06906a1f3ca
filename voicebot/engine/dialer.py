"""The dialer: claim due attempts from the shared hopper, check compliance, call, record, follow up.

Many workers (processes, machines) share one database. A worker claims rows with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL (an atomic ``UPDATE … RETURNING`` on
SQLite), holds them under a lease it renews while the call runs, and writes the
outcome and the follow-ups in one transaction. A worker that dies stops renewing;
``reap_expired_leases`` puts its attempts back in the hopper. A partial unique
index makes two live attempts for one debtor impossible whatever the workers do.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from voicebot.actions import Action, Transfer
from voicebot.campaigns.compliance import (
    CAMPAIGN,
    Decision,
    DialFacts,
    PastAttempt,
    RulesError,
    campaign_rules,
    check,
    default_rules,
    phone_country,
)
from voicebot.dialog.context import CallContext
from voicebot.dialog.outcome import CallOutcome, Disposition
from voicebot.engine.call_loop import ActionSink
from voicebot.engine.hopper import Group, HourBoosts
from voicebot.engine.pacing import Pacer, TokenBucket, campaign_bucket
from voicebot.storage import models as m
from voicebot.storage.repositories import (
    append_audit,
    call_context,
    is_opted_out,
    record_dial_failure,
    record_outcome,
)
from voicebot.telephony.carrier import DialFailure

log = logging.getLogger(__name__)

LIVE = m.LIVE_ATTEMPT_STATUSES
DEFAULT_RETRY: dict[str, dict[str, int]] = {
    # disposition → delay before the next attempt, and attempts allowed in total
    "NA": {"delay_minutes": 120, "max_attempts": 4},
    "BUSY": {"delay_minutes": 20, "max_attempts": 4},
    "VM": {"delay_minutes": 240, "max_attempts": 3},
    "DROP": {"delay_minutes": 60, "max_attempts": 3},
    "FAIL": {"delay_minutes": 30, "max_attempts": 3},  # tried on the debtor's next phone
}
REMINDER_HOUR = 10


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
            settle_transfers(s, attempt_id=request.attempt_id, result=result)
        self.stats.completed += 1
        self.on_result(request, result)

    def _transfer_recorder(self, attempt_id: int) -> ActionSink:
        """Queue a warm transfer for the agent desk (API) the moment the dialog asks for it."""

        async def record(action: Action) -> None:
            if not isinstance(action, Transfer):
                return
            context = action.context
            with self.sessions.begin() as s:
                attempt = s.get_one(m.CallAttempt, attempt_id)
                s.add(
                    m.TransferRequest(
                        attempt_id=attempt_id,
                        debtor_id=attempt.debtor_id,
                        reason=action.reason,
                        context={
                            "summary": context.summary,
                            "debtor_name": context.debtor_name,
                            "promise_attempts": list(context.promise_attempts),
                            "turns": [turn.to_json() for turn in context.turns],
                        },
                        created_at=self.clock(),
                    )
                )
                append_audit(
                    s,
                    actor=self.worker_id,
                    action="transfer_requested",
                    debtor_id=attempt.debtor_id,
                    campaign_id=attempt.campaign_id,
                    attempt_id=attempt_id,
                    reason=action.reason,
                    at=self.clock(),
                )

        return record

    async def _renew_lease(self, attempt_id: int) -> None:
        while True:
            await asyncio.sleep(max(1.0, self.lease.total_seconds() / 3))
            with self.sessions.begin() as s:
                s.execute(
                    update(m.CallAttempt)
                    .where(
                        m.CallAttempt.id == attempt_id, m.CallAttempt.claimed_by == self.worker_id
                    )
                    .values(lease_expires_at=self.clock() + self.lease)
                )


# ---------------------------------------------------------------- the hopper


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
    ``voicebot.engine.hopper``. An empty list means nothing is claimable now; losing every
    race raises ``HopperContended``.
    """
    tries = 5
    last: Exception | None = None
    for _ in range(tries):
        try:
            with sessions.begin() as s:
                return _claim(s, campaign_id, worker_id, now, lease, limit, boosts or {})
        except (IntegrityError, OperationalError) as exc:
            # Another worker claimed the same debtor's other attempt first, or SQLite was busy.
            log.debug("claim retry: %s", exc)
            last = exc
    raise HopperContended(f"{worker_id} lost {tries} claim races in a row: {last}")


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
            .where(m.CallAttempt.campaign_id == campaign_id, m.CallAttempt.status.in_(LIVE))
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


def settle_transfers(s: Session, *, attempt_id: int, result: CallResult) -> None:
    """A transfer still waiting when its call ended was taken (XFER) or failed (no agent)."""
    taken = not isinstance(result, DialFailure) and result.disposition is Disposition.XFER
    s.execute(
        update(m.TransferRequest)
        .where(m.TransferRequest.attempt_id == attempt_id, m.TransferRequest.status == "waiting")
        .values(status="accepted" if taken else "failed")
    )


def reap_expired_leases(sessions: sessionmaker[Session], *, now: datetime, actor: str) -> int:
    """Attempts whose worker stopped renewing go back to the hopper to be dialled again."""
    with sessions.begin() as s:
        lost = s.execute(
            select(
                m.CallAttempt.id,
                m.CallAttempt.debtor_id,
                m.CallAttempt.claimed_by,
                m.CallAttempt.campaign_id,
            ).where(m.CallAttempt.status.in_(LIVE), m.CallAttempt.lease_expires_at < now)
        ).all()
        for attempt_id, debtor_id, worker, campaign_id in lost:
            s.execute(
                update(m.CallAttempt)
                .where(m.CallAttempt.id == attempt_id)
                .values(
                    status="queued",
                    claimed_by=None,
                    lease_expires_at=None,
                    due_at=now,
                    error=f"lease of {worker} expired: returned to the hopper",
                )
            )
            append_audit(
                s,
                actor=actor,
                action="lease_expired",
                debtor_id=debtor_id,
                campaign_id=campaign_id,
                attempt_id=attempt_id,
                reason=f"worker {worker} stopped renewing",
                at=now,
            )
        return len(lost)


# ---------------------------------------------------------------- facts and follow-ups


CONTACTS = {d.value for d in Disposition if d.is_human_contact} - {Disposition.DROP.value}


def dial_facts(s: Session, attempt: m.CallAttempt) -> tuple[DialFacts, list[PastAttempt]]:
    debtor = s.get_one(m.Debtor, attempt.debtor_id)
    campaign = s.get_one(m.Campaign, attempt.campaign_id)
    phone = s.get(m.Phone, attempt.phone_id) if attempt.phone_id else None
    e164 = phone.e164 if phone else ""
    jurisdictions = [campaign.jurisdiction]
    for code in (debtor.region[:2] if debtor.region else "", phone_country(e164) or ""):
        if code and code not in jurisdictions and code in ("CO", "CL", "MX", "PE", "US"):
            jurisdictions.append(code)
    opted_out = is_opted_out(s, debtor_id=debtor.id, phone=e164 or None)
    statuses = set(s.scalars(select(m.Debt.status).where(m.Debt.debtor_id == debtor.id)))
    rows = s.execute(
        select(m.CallAttempt.started_at, m.CallAttempt.disposition, m.CallRecord.right_party)
        .outerjoin(m.CallRecord, m.CallRecord.attempt_id == m.CallAttempt.id)
        .where(
            m.CallAttempt.debtor_id == debtor.id,
            m.CallAttempt.started_at.is_not(None),
            m.CallAttempt.id != attempt.id,
        )
    ).all()
    history = [
        PastAttempt(at=started, contact=(disposition in CONTACTS), conversation=bool(right_party))
        for started, disposition, right_party in rows
        if started is not None
    ]
    facts = DialFacts(
        jurisdictions=tuple(jurisdictions),
        phone_e164=e164,
        timezone=debtor.timezone,
        phone_kind=phone.kind if phone else "unknown",
        opted_out=opted_out,
        disputed="disputed" in statuses and "active" not in statuses,
        phone_invalid=phone is None or phone.status != "valid",
        tcpa_consent=debtor.tcpa_consent,
    )
    return facts, history


def schedule_follow_ups(s: Session, *, attempt_id: int, now: datetime) -> None:
    """Retries per disposition, the debtor's callback, promise reminders and checks."""
    attempt = s.get_one(m.CallAttempt, attempt_id)
    campaign = s.get_one(m.Campaign, attempt.campaign_id)
    disposition = attempt.disposition or ""
    policy = {**DEFAULT_RETRY, **(campaign.retry_policy or {})}
    debtor = s.get_one(m.Debtor, attempt.debtor_id)
    zone = ZoneInfo(debtor.timezone) if debtor.timezone else UTC

    def queue(kind: str, due: datetime, phone_id: int | None) -> None:
        s.add(
            m.CallAttempt(
                campaign_id=attempt.campaign_id,
                debtor_id=attempt.debtor_id,
                phone_id=phone_id,
                kind=kind,
                due_at=due,
                priority=attempt.priority,
                number=attempt.number + 1,
            )
        )

    if disposition in policy:
        rule: dict[str, Any] = policy[disposition]
        made = (
            s.scalar(
                select(func.count())
                .select_from(m.CallAttempt)
                .where(
                    m.CallAttempt.campaign_id == attempt.campaign_id,
                    m.CallAttempt.debtor_id == attempt.debtor_id,
                    m.CallAttempt.status == "done",
                )
            )
            or 0
        )
        if made < int(rule.get("max_attempts", 3)):
            phone_id = attempt.phone_id
            if disposition == "FAIL":
                phone_id = _next_phone(s, attempt)
            if phone_id is not None:
                queue(
                    "retry", now + timedelta(minutes=int(rule.get("delay_minutes", 60))), phone_id
                )
    callback = s.scalar(select(m.Callback).where(m.Callback.source_attempt_id == attempt_id))
    if callback is not None and callback.status == "pending":
        queue("callback", callback.due_at, attempt.phone_id)
        callback.status = "scheduled"
    promise = s.scalar(select(m.PromiseToPay).where(m.PromiseToPay.attempt_id == attempt_id))
    if promise is not None:
        reminder = _local_at(promise.due_date - timedelta(days=1), zone)
        if reminder > now:
            queue("reminder", reminder, attempt.phone_id)
        queue("check", _local_at(promise.due_date + timedelta(days=1), zone), attempt.phone_id)


def _local_at(day: date, zone: ZoneInfo | Any) -> datetime:
    return datetime.combine(day, time(REMINDER_HOUR), tzinfo=zone)


def _next_phone(s: Session, attempt: m.CallAttempt) -> int | None:
    tried = select(m.CallAttempt.phone_id).where(m.CallAttempt.debtor_id == attempt.debtor_id)
    return s.scalar(
        select(m.Phone.id)
        .where(
            m.Phone.debtor_id == attempt.debtor_id,
            m.Phone.status == "valid",
            m.Phone.id.not_in(tried),
        )
        .order_by(m.Phone.priority)
        .limit(1)
    )
