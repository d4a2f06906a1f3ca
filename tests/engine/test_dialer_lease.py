"""A live call keeps its lease: the reaper never steals an attempt whose worker is alive."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dialer_world import WORK_TIME, portfolio_csv, scripts
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voicebot.campaigns.lifecycle import launch_campaign
from voicebot.campaigns.portfolio import import_csv
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.engine.dialer import Dialer
from voicebot.engine.hopper import reap_expired_leases
from voicebot.engine.text_runner import ScriptedTextRunner
from voicebot.storage import models as m

ROOT = Path(__file__).resolve().parents[2]


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

    plan = load_dialplan(ROOT / "dialplans" / "cobranza_es.yaml")
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
