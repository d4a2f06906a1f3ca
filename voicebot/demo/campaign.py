"""The embedded default main job: a demo collections campaign, no accounts, no network.

It is the real pipeline on its embedded defaults: synthetic debtors go through
portfolio import into SQLite, one campaign per country is launched, the dialer
checks compliance before every dial and calls each debtor on the simulated
carrier, outcomes are written back, and the campaigns' KPIs are read from the
database. Calls run on the simulated line's text channel unless a Spanish Vosk
model is installed, in which case they run through TTS → G.711 line → Vosk.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from voicebot.campaigns.compliance import is_holiday
from voicebot.campaigns.lifecycle import launch_campaign
from voicebot.campaigns.portfolio import import_json_rows
from voicebot.campaigns.status import campaign_status
from voicebot.demo.follow_ups import (
    DEMO_MESSAGING,
    FollowUpReport,
    last_promise_date,
    run_follow_ups,
)
from voicebot.demo.synthetic import MARKETS, SyntheticDebtor, synthetic_portfolio
from voicebot.dialog.plan import Dialplan
from voicebot.domain.outcome import Disposition
from voicebot.engine.dialer import CallResult, CallRunner, Dialer, DialRequest
from voicebot.engine.text_runner import ScriptedTextRunner
from voicebot.speech.model_files import ModelNotFound, resolve_model
from voicebot.storage import models as m
from voicebot.storage.db import make_engine, session_factory, upgrade
from voicebot.telephony.carrier import DialFailure

NO_ANSWER_EVERY = 9  # every 9th synthetic debtor does not pick up, every 13th is busy
BUSY_EVERY = 13


@dataclass
class DemoResult:
    statuses: list[dict[str, Any]]
    campaign_day: datetime
    calls: int
    mode: str
    results: list[tuple[SyntheticDebtor, CallResult]] = field(default_factory=list)
    follow_ups: FollowUpReport = field(default_factory=FollowUpReport)


def spanish_model_available(models_dir: Path) -> bool:
    """Whether a Spanish Vosk model is installed (only then can the demo run on audio)."""
    try:
        resolve_model("es", models_dir=models_dir)
    except ModelNotFound:
        return False
    return True


def campaign_day(today: date) -> datetime:
    """The first working day from ``today`` that no demo country keeps as a holiday, 10:00 Bogotá."""
    day = today
    while day.weekday() >= 5 or any(is_holiday(day, c) for c in ("CO", "CL", "PE", "MX", "US")):
        day += timedelta(days=1)
    return datetime.combine(day, time(10, 0), tzinfo=ZoneInfo("America/Bogota"))


def _rows(debtors: list[SyntheticDebtor]) -> list[dict[str, Any]]:
    rows = []
    for d in debtors:
        debtor = d.context.debtor
        debt = debtor.debts[0]
        rows.append(
            {
                "external_id": d.external_id,
                "name": debtor.full_name,
                "document_id": debtor.document_id,
                "phone": d.phone,
                "amount": str(debt.amount),
                "currency": debt.currency,
                "days_past_due": debt.days_past_due,
                "creditor": debt.creditor,
                "product": debt.product,
                "timezone": debtor.timezone,
                "region": d.country,
                "gender": debtor.gender,
                "segment": _bucket(debt.days_past_due),
                "tcpa_consent": "yes",
            }
        )
    return rows


def _bucket(days: int) -> str:
    for limit, name in ((30, "0-30"), (60, "31-60"), (90, "61-90"), (180, "91-180")):
        if days <= limit:
            return name
    return "180+"


def text_runner(
    plan: Dialplan, debtors: list[SyntheticDebtor], clock: Callable[[], datetime]
) -> CallRunner:
    scripts: dict[str, tuple[str, ...] | DialFailure] = {}
    for i, d in enumerate(debtors, start=1):
        if i % NO_ANSWER_EVERY == 0:
            scripts[d.phone] = DialFailure(Disposition.NA, 408, "no answer")
        elif i % BUSY_EVERY == 0:
            scripts[d.phone] = DialFailure(Disposition.BUSY, 486, "Busy Here")
        else:
            scripts[d.phone] = d.turns
    return ScriptedTextRunner(plan, scripts, clock=clock)


# Builds the demo's runner: its debtors, the campaign clock, and the database (for recordings).
RunnerFactory = Callable[
    [list[SyntheticDebtor], Callable[[], datetime], sessionmaker[Session]], CallRunner
]


class PacedRunner:
    """Calls that last ``seconds`` of real time, so a person can watch the campaign."""

    def __init__(self, inner: CallRunner, seconds: float) -> None:
        self.inner = inner
        self.seconds = seconds

    async def run(self, request: DialRequest) -> CallResult:
        await asyncio.sleep(self.seconds)
        return await self.inner.run(request)


async def run_demo(
    plan: Dialplan,
    *,
    database: Path,
    debtors: int,
    today: date,
    seed: int = 7,
    runner_factory: RunnerFactory | None = None,
    mode: str = "text",
    on_call: Callable[[SyntheticDebtor, CallResult], None] = lambda debtor, result: None,
    call_seconds: float = 0.0,
    on_ready: Callable[[str, sessionmaker[Session]], Awaitable[None]] | None = None,
) -> DemoResult:
    """Import, launch and dial a demo portfolio; returns each campaign's status from the database.

    With ``call_seconds`` the campaign runs in real time: each call lasts that long and
    the campaign clock moves with the wall clock from the campaign day's start (calls,
    charts and pacing look like a real morning). ``on_ready`` is awaited once the
    database exists, before the first campaign: ``voicebot demo --serve`` starts the
    console there.
    """
    if database.exists():
        database.unlink()
    url = f"sqlite:///{database}"
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    portfolio = synthetic_portfolio(debtors, today=today, seed=seed)
    start = campaign_day(today)
    now = [start.astimezone(UTC)]
    began = monotonic()

    def clock() -> datetime:
        if call_seconds > 0:
            return now[0] + timedelta(seconds=monotonic() - began)
        return now[0]

    by_phone = {d.phone: d for d in portfolio}
    results: list[tuple[SyntheticDebtor, CallResult]] = []

    def on_result(request: DialRequest, result: CallResult) -> None:
        results.append((by_phone[request.phone], result))
        on_call(by_phone[request.phone], result)

    runner = (runner_factory or (lambda ds, c, _: text_runner(plan, ds, c)))(
        portfolio, clock, sessions
    )
    if call_seconds > 0:
        runner = PacedRunner(runner, call_seconds)
    statuses: list[dict[str, Any]] = []
    campaign_ids: list[int] = []
    follow_ups = FollowUpReport()
    try:
        if on_ready is not None:
            await on_ready(url, sessions)
        for market in MARKETS:
            members = [d for d in portfolio if d.country == market.country]
            if not members:
                continue
            with sessions.begin() as s:
                campaign = m.Campaign(
                    name=f"demo-{market.country.lower()}",
                    dialplan=str(plan.source),
                    jurisdiction=market.country,
                    default_region=market.country,
                    company="Gestión Integral de Cartera",
                    callback_number="6015550100",
                    limits={
                        "min_payment": str(members[0].context.limits.min_payment),
                        "max_days_ahead": 30,
                        "max_instalments": 6,
                    },
                    settings={"mini_miranda": market.country == "US"},
                    messaging=DEMO_MESSAGING,
                    max_concurrent=8,
                )
                s.add(campaign)
                s.flush()
                campaign_id = campaign.id
            report = import_json_rows(
                sessions, _rows(members), default_region=market.country, campaign_id=campaign_id
            )
            if report.errors:
                raise RuntimeError(f"demo portfolio rejected: {report.errors[:3]}")
            with sessions.begin() as s:
                launch_campaign(s, campaign_id=campaign_id, now=clock(), actor="demo")
            dialer = Dialer(
                sessions, runner, worker_id="demo-worker", clock=clock, on_result=on_result
            )
            await dialer.run(campaign_id=campaign_id, until_idle=True)
            campaign_ids.append(campaign_id)
        last = last_promise_date(sessions)
        if last is not None:
            follow_ups = run_follow_ups(sessions, start=clock(), until=last + timedelta(days=3))
        with sessions() as s:
            statuses = [campaign_status(s, campaign_id=c) for c in campaign_ids]
    finally:
        engine.dispose()
    return DemoResult(statuses, start, len(results), mode, results, follow_ups)
