"""Scripted whole calls on the text line, and the disclosure check every call must pass."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from voicebot.actions import Say
from voicebot.dialog.plan import Dialplan
from voicebot.domain.context import CallContext
from voicebot.domain.outcome import CallOutcome
from voicebot.engine.call_loop import run_call
from voicebot.telephony.text_line import SimulatedClock, TextLine

TODAY = date(2026, 11, 23)  # a Monday
BOGOTA = ZoneInfo("America/Bogota")


@dataclass
class Call:
    outcome: CallOutcome
    line: TextLine

    @property
    def prompts(self) -> list[str]:
        return [s.prompt for s in self.line.said]

    @property
    def json(self) -> dict[str, Any]:
        return self.outcome.to_json()

    def bot_text_before(self, prompt: str) -> list[Say]:
        index = self.prompts.index(prompt) if prompt in self.prompts else len(self.prompts)
        return self.line.said[:index]


def play(plan: Dialplan, ctx: CallContext, turns: list[str], **settings: bool | int | str) -> Call:
    """Run a whole call on the text line with the debtor's scripted turns."""
    if settings:
        ctx = replace(ctx, settings={**ctx.settings, **settings})
    clock = SimulatedClock(datetime(2026, 11, 23, 10, 0, tzinfo=BOGOTA))
    line = TextLine.scripted(turns, clock=clock)
    outcome = asyncio.run(run_call(plan, ctx, line, clock=clock))
    assert_no_disclosure_before_verification(line.said, outcome)
    return Call(outcome, line)


def assert_no_disclosure_before_verification(said: list[Say], outcome: CallOutcome) -> None:
    """No creditor, amount or collection prompt before the right party is verified."""
    verified_at = next(
        (
            i
            for i, s in enumerate(said)
            if s.prompt in {"disclosure", "disclosure_statement", "mini_miranda"}
        ),
        len(said),
    )
    for say in said[:verified_at]:
        assert not say.discloses_debt, say
        assert "Banco Andino" not in say.text, say
        assert "millón" not in say.text, say
        assert "mora" not in say.text, say
    if verified_at < len(said):
        assert outcome.right_party_contacted
        assert outcome.disclosure_made
