"""Two simulated weeks of a Chilean campaign: días hábiles 08–20 (Saturdays included), holidays
closed, at most one call in any 7 days per debtor (Ley 19.496 art. 37, the strict reading)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voicebot.campaigns.compliance import is_holiday
from voicebot.campaigns.lifecycle import launch_campaign
from voicebot.campaigns.portfolio import import_csv
from voicebot.data import DEFAULT_DIALPLAN
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.domain.outcome import Disposition
from voicebot.engine.dialer import Dialer
from voicebot.engine.text_runner import ScriptedTextRunner
from voicebot.storage import models as m
from voicebot.telephony.carrier import DialFailure

SANTIAGO = ZoneInfo("America/Santiago")
N = 8


def phone(i: int) -> str:
    return f"+5695{1000000 + i:07d}"


def test_two_weeks_in_chile_respect_hours_holidays_and_the_weekly_call(
    sessions: sessionmaker[Session],
) -> None:
    lines = ["id_cliente;nombre;documento;celular;saldo;moneda;dias_mora;acreedor;zona_horaria"]
    for i in range(N):
        lines.append(
            f"CL{i};Deudora {i};{15_000_000 + i}-K;{phone(i)[3:]};{(i + 1) * 90000};CLP;{30 + i};"
            "Banco del Pacífico;America/Santiago"
        )
    with sessions.begin() as s:
        campaign = m.Campaign(
            name="fiestas-patrias",
            dialplan="cobranza_es",
            jurisdiction="CL",
            default_region="CL",
            max_concurrent=4,
            calls_per_second=4.0,
        )
        s.add(campaign)
        s.flush()
        campaign_id = campaign.id
    report = import_csv(
        sessions, "\n".join(lines) + "\n", default_region="CL", campaign_id=campaign_id
    )
    assert report.errors == []
    # Nobody answers: every no-answer asks for a retry two hours later, which Chile's
    # one-call-per-week rule must push to the next week.
    scripts: dict[str, tuple[str, ...] | DialFailure] = {
        phone(i): DialFailure(Disposition.NA, 408, "no answer") for i in range(N)
    }
    # Thursday 17 September 2026, 07:00: Friday 18 and Saturday 19 are national holidays.
    clock_now = [datetime(2026, 9, 17, 7, 0, tzinfo=SANTIAGO)]
    plan = load_dialplan(DEFAULT_DIALPLAN)
    runner = ScriptedTextRunner(plan, scripts, clock=lambda: clock_now[0])
    dialer = Dialer(sessions, runner, worker_id="cl", clock=lambda: clock_now[0], max_concurrent=4)
    with sessions.begin() as s:
        launch_campaign(s, campaign_id=campaign_id, now=clock_now[0], actor="manager")

    async def two_weeks() -> None:
        end = clock_now[0] + timedelta(days=14)
        while clock_now[0] < end:
            await dialer.tick(campaign_id=campaign_id)
            await dialer.drain()
            clock_now[0] += timedelta(minutes=15)

    asyncio.run(two_weeks())
    with sessions() as s:
        dials = s.execute(
            select(m.CallAttempt.debtor_id, m.CallAttempt.started_at).where(
                m.CallAttempt.started_at.is_not(None)
            )
        ).all()
        rules = Counter(
            s.scalars(select(m.AuditEntry.rule).where(m.AuditEntry.action == "dial_refused"))
        )
    by_debtor: dict[int, list[datetime]] = {}
    for debtor_id, started in dials:
        local = started.astimezone(SANTIAGO)
        assert local.weekday() < 6 and 8 <= local.hour < 20, local  # Monday to Saturday
        assert not is_holiday(local.date(), "CL"), local
        by_debtor.setdefault(debtor_id, []).append(started)
    for times in by_debtor.values():
        times.sort()
        assert all(b - a >= timedelta(days=7) for a, b in pairwise(times))
    # Thursday's wave, then one call exactly 7 days later: a calendar-week reading would
    # have called again on Monday the 21st, four days after the first call.
    assert len(dials) == 2 * N
    assert {started.astimezone(SANTIAGO).strftime("%a %d") for _, started in dials} == {
        "Thu 17",
        "Thu 24",
    }
    assert rules["cl_one_call_per_week"] >= N
