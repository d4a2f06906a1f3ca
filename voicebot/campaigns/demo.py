"""The embedded default main job: a demo collections campaign, no accounts, no network.

Synthetic debtors across five countries answer in varied Spanish; every call runs
the default dialplan to an outcome, and the campaign's KPIs are printed at the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from voicebot.campaigns.kpis import AttemptResult, CampaignKpis, compute_kpis
from voicebot.campaigns.synthetic import SyntheticDebtor, synthetic_portfolio
from voicebot.dialog.outcome import CallOutcome
from voicebot.dialog.plan import Dialplan
from voicebot.engine.call_loop import run_call
from voicebot.speech.models import ModelNotFound, resolve_model
from voicebot.telephony.text_line import SimulatedClock, TextLine


@dataclass(frozen=True, slots=True)
class DemoCall:
    debtor: SyntheticDebtor
    outcome: CallOutcome


def result_of(call: DemoCall) -> AttemptResult:
    outcome = call.outcome
    promise = outcome.promise
    return AttemptResult(
        disposition=outcome.disposition,
        right_party=outcome.right_party_contacted,
        promised_amount=(promise.amount * promise.instalments) if promise else None,
        currency=promise.currency if promise else "",
        opt_out=outcome.opt_out,
        transferred=outcome.transfer_reason is not None,
        handling_seconds=(outcome.ended_at - outcome.started_at).total_seconds(),
        debtor_id=call.debtor.external_id,
    )


async def run_text_demo(
    plan: Dialplan,
    *,
    debtors: int,
    today: date,
    seed: int = 7,
    concurrency: int = 8,
    on_call: Callable[[DemoCall], None] = lambda call: None,
) -> tuple[list[DemoCall], CampaignKpis]:
    """Run every synthetic debtor's call on the simulated line's text channel."""
    portfolio = synthetic_portfolio(debtors, today=today, seed=seed)
    gate = asyncio.Semaphore(concurrency)
    calls: list[DemoCall] = []

    async def one(debtor: SyntheticDebtor) -> None:
        async with gate:
            zone = ZoneInfo(debtor.context.debtor.timezone)
            clock = SimulatedClock(datetime.combine(today, time(10, 0), tzinfo=zone))
            line = TextLine.scripted(debtor.turns, clock=clock)
            outcome = await run_call(plan, debtor.context, line, clock=clock)
            call = DemoCall(debtor, outcome)
            calls.append(call)
            on_call(call)

    await asyncio.gather(*(one(d) for d in portfolio))
    calls.sort(key=lambda c: c.debtor.external_id)
    kpis = compute_kpis([result_of(c) for c in calls], debtors_in_campaign=len(portfolio))
    return calls, kpis


def spanish_model_available() -> bool:
    """Whether a Spanish Vosk model is installed (only then can the demo run on audio)."""
    try:
        resolve_model("es")
    except ModelNotFound:
        return False
    return True
