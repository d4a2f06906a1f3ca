"""A live call keeps its lease: the reaper never steals an attempt whose worker is alive."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from dialer_world import WORK_TIME, portfolio_csv, scripts
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voicebot.campaigns.lifecycle import launch_campaign
from voicebot.campaigns.portfolio import import_csv
from voicebot.data import DEFAULT_DIALPLAN
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.engine.dialer import CallResult, Dialer, DialRequest
from voicebot.engine.hopper import reap_expired_leases
from voicebot.engine.text_runner import ScriptedTextRunner
from voicebot.storage import models as m


def test_a_call_longer_than_its_lease_renews_it_and_is_not_reaped(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        campaign = m.Campaign(
            name="larga", dialplan="cobranza_es", jurisdiction="CO", default_region="CO"
        )
        s.add(campaign)
        s.flush()
        campaign_id = campaign.id
    import_csv(sessions, portfolio_csv(1), default_region="CO", campaign_id=campaign_id)
    with sessions.begin() as s:
        launch_campaign(s, campaign_id=campaign_id, now=WORK_TIME, actor="test")
    wall_start = time.time()

    def clock() -> datetime:
        return (WORK_TIME + timedelta(seconds=time.time() - wall_start)).astimezone(UTC)

    plan = load_dialplan(DEFAULT_DIALPLAN)
    runner = ScriptedTextRunner(plan, scripts(1), clock=clock, call_delay_s=4.5)
    dialer = Dialer(sessions, runner, worker_id="alive", clock=clock, lease_seconds=3)

    async def scenario() -> tuple[int, str | None, str]:
        await dialer.tick(campaign_id=campaign_id)
        await asyncio.sleep(3.6)  # past the first lease: only renewal keeps the attempt
        stolen = reap_expired_leases(sessions, now=clock(), actor="other-worker")
        with sessions() as s:
            attempt = s.scalars(select(m.CallAttempt)).one()
            holder, status = attempt.claimed_by, attempt.status
        await dialer.drain()
        return stolen, holder, status

    stolen, holder, status = asyncio.run(scenario())
    assert (stolen, holder, status) == (0, "alive", "dialing")
    with sessions() as s:
        attempt = s.scalars(select(m.CallAttempt).where(m.CallAttempt.kind == "first")).one()
        assert attempt.status == "done" and attempt.disposition is not None
        assert not s.scalars(
            select(m.AuditEntry).where(m.AuditEntry.action == "lease_expired")
        ).all()


class HeldLine(ScriptedTextRunner):
    """A call that stays up until the test hangs it up (or the dialer stops it)."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        plan = load_dialplan(DEFAULT_DIALPLAN)
        super().__init__(plan, scripts(1), clock=clock)
        self.up = asyncio.Event()
        self.stopped = asyncio.Event()
        self.hang_up = asyncio.Event()

    async def run(self, request: DialRequest) -> CallResult:
        self.up.set()
        try:
            await self.hang_up.wait()
        except asyncio.CancelledError:
            self.stopped.set()
            raise
        return await super().run(request)


def launched(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as s:
        campaign = m.Campaign(
            name="corta", dialplan="cobranza_es", jurisdiction="CO", default_region="CO"
        )
        s.add(campaign)
        s.flush()
        campaign_id = campaign.id
    import_csv(sessions, portfolio_csv(1), default_region="CO", campaign_id=campaign_id)
    with sessions.begin() as s:
        launch_campaign(s, campaign_id=campaign_id, now=WORK_TIME, actor="test")
    return campaign_id


def test_a_worker_that_lost_its_lease_stops_the_call_and_writes_no_outcome(
    sessions: sessionmaker[Session],
) -> None:
    campaign_id = launched(sessions)
    now = WORK_TIME.astimezone(UTC)
    runner = HeldLine(lambda: now)
    dialer = Dialer(sessions, runner, worker_id="stalled", clock=lambda: now, lease_seconds=0.6)

    async def scenario() -> None:
        await dialer.tick(campaign_id=campaign_id)
        await runner.up.wait()
        # Seen from another worker's clock the lease is long dead (this one stalled): reaped.
        assert reap_expired_leases(sessions, now=now + timedelta(hours=1), actor="other") == 1
        await runner.stopped.wait()  # the next renewal learns it and stops the call
        await dialer.drain()

    asyncio.run(scenario())
    assert dialer.stats.leases_lost == 1 and dialer.stats.completed == 0
    with sessions() as s:
        attempt = s.scalars(select(m.CallAttempt).where(m.CallAttempt.kind == "first")).one()
        assert (attempt.status, attempt.disposition) == ("lost", None)
        assert s.scalars(select(m.CallRecord)).all() == []


def test_a_call_longer_than_its_maximum_ends_as_fail(sessions: sessionmaker[Session]) -> None:
    campaign_id = launched(sessions)
    now = WORK_TIME.astimezone(UTC)
    runner = HeldLine(lambda: now)
    dialer = Dialer(sessions, runner, worker_id="w", clock=lambda: now, max_call_seconds=0.5)
    asyncio.run(dialer.run(campaign_id=campaign_id, until_idle=True))
    assert runner.stopped.is_set()
    with sessions() as s:
        attempt = s.scalars(select(m.CallAttempt).where(m.CallAttempt.kind == "first")).one()
        assert (attempt.status, attempt.disposition) == ("done", "FAIL")
        assert "TimeoutError" in attempt.error
