"""Score whole scripted conversations: play each on the text line, check its outcome.

A conversation file is JSONL, one call per line: ``{"id", "today", "at" (local
HH:MM), "debtor" (the ``voicebot simulate --debtor`` JSON), "turns" (the debtor's
turns in order; "" = silence, "#123" = keypad, "<colgar>" = hang-up; the call
hangs up when they run out), "expect"}``. A malformed line stops the run with its
line number, so a typo never silently shrinks the set that judges the product.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from voicebot.dialog.plan import Dialplan
from voicebot.domain.context import CallContext, ContextError, context_from_json
from voicebot.domain.outcome import CallOutcome
from voicebot.engine.call_loop import run_call
from voicebot.telephony.text_line import SimulatedClock, TextLine

EXPECT_KEYS = (
    "disposition",
    "disclosure",
    "promise_amount",
    "promise_date",
    "instalments_min",
    "dispute",
    "paid",
    "callback_date",
    "opt_out",
    "phone_invalid",
    "transfer",
)
_BOOL_KEYS = ("disclosure", "dispute", "paid", "opt_out", "phone_invalid", "transfer")


class ConversationDataError(ValueError):
    """A conversation line that cannot be read; ``line`` is 1-based."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem}")
        self.line = line
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Conversation:
    line: int
    id: str
    context: CallContext
    starts_at: datetime  # aware, in the debtor's zone
    turns: tuple[str, ...]
    expect: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Failure:
    key: str  # the expectation that failed
    expected: str
    got: str


@dataclass(frozen=True, slots=True)
class Result:
    conversation: Conversation
    outcome: CallOutcome
    failures: tuple[Failure, ...]

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(slots=True)
class Report:
    results: list[Result] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "conversations": len(self.results),
            "passed": self.passed,
            "rate": round(self.passed / len(self.results), 4) if self.results else None,
            "misses": [
                {
                    "id": r.conversation.id,
                    "line": r.conversation.line,
                    "failures": [
                        {"key": f.key, "expected": f.expected, "got": f.got} for f in r.failures
                    ],
                    "disposition": r.outcome.disposition.value,
                    "final_state": r.outcome.final_state,
                    "transcript": [
                        {"speaker": t.speaker, "text": t.text, "intent": t.intent}
                        for t in r.outcome.transcript
                    ],
                }
                for r in self.results
                if not r.passed
            ],
        }


def read_conversations(lines: Iterable[str]) -> list[Conversation]:
    """Parse a conversation file; blank lines are skipped."""
    result: list[Conversation] = []
    seen: set[str] = set()
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        conversation = _parse(number, raw)
        if conversation.id in seen:
            raise ConversationDataError(number, f"duplicate id {conversation.id!r}")
        seen.add(conversation.id)
        result.append(conversation)
    return result


def _parse(number: int, raw: str) -> Conversation:
    def fail(problem: str) -> ConversationDataError:
        return ConversationDataError(number, problem)

    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise fail(f"not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise fail("expected a JSON object")
    ident = data.get("id")
    if not isinstance(ident, str) or not ident:
        raise fail("id: required text")
    try:
        today = date.fromisoformat(str(data.get("today")))
    except ValueError:
        raise fail(f"today: expected YYYY-MM-DD, got {data.get('today')!r}") from None
    try:
        clock = time.fromisoformat(str(data.get("at", "10:00")))
    except ValueError:
        raise fail(f"at: expected HH:MM, got {data.get('at')!r}") from None
    try:
        context = context_from_json(data.get("debtor"), today=today)
    except ContextError as exc:
        raise fail(str(exc)) from None
    turns = data.get("turns")
    if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
        raise fail("turns: expected a list of text turns")
    expect = data.get("expect")
    if not isinstance(expect, dict) or not expect:
        raise fail("expect: expected a non-empty object")
    for key, value in expect.items():
        if key not in EXPECT_KEYS:
            raise fail(f"expect.{key}: unknown key (one of {', '.join(EXPECT_KEYS)})")
        if key in _BOOL_KEYS and not isinstance(value, bool):
            raise fail(f"expect.{key}: expected true or false")
    dispositions = expect.get("disposition")
    if dispositions is not None and (
        not isinstance(dispositions, list) or not all(isinstance(d, str) for d in dispositions)
    ):
        raise fail("expect.disposition: expected a list of disposition codes")
    for key in ("promise_amount", "instalments_min"):
        if key in expect:
            try:
                Decimal(str(expect[key]))
            except InvalidOperation:
                raise fail(f"expect.{key}: expected a number") from None
    starts_at = datetime.combine(today, clock, tzinfo=ZoneInfo(context.debtor.timezone))
    return Conversation(number, ident, context, starts_at, tuple(turns), expect)


def play(plan: Dialplan, conversation: Conversation) -> tuple[CallOutcome, TextLine]:
    """One conversation on the text line, to its outcome."""
    clock = SimulatedClock(conversation.starts_at)
    line = TextLine.scripted(conversation.turns, clock=clock)
    outcome = asyncio.run(run_call(plan, conversation.context, line, clock=clock))
    return outcome, line


def check(conversation: Conversation, outcome: CallOutcome) -> tuple[Failure, ...]:
    """Every expectation of the conversation the outcome does not meet."""
    expect = conversation.expect
    failures: list[Failure] = []

    def compare(key: str, expected: Any, got: Any) -> None:
        if expected != got:
            failures.append(Failure(key, str(expected), str(got)))

    if "disposition" in expect and outcome.disposition.value not in expect["disposition"]:
        failures.append(
            Failure("disposition", " or ".join(expect["disposition"]), outcome.disposition.value)
        )
    if "disclosure" in expect:
        compare("disclosure", expect["disclosure"], outcome.disclosure_made)
    promise = outcome.promise
    if "promise_amount" in expect:
        compare(
            "promise_amount",
            Decimal(str(expect["promise_amount"])),
            promise.amount if promise else None,
        )
    if "promise_date" in expect:
        compare(
            "promise_date", expect["promise_date"], promise.due.isoformat() if promise else None
        )
    if "instalments_min" in expect:
        got = promise.instalments if promise else 0
        if got < int(expect["instalments_min"]):
            failures.append(Failure("instalments_min", f">= {expect['instalments_min']}", str(got)))
    if "dispute" in expect:
        compare("dispute", expect["dispute"], outcome.dispute_reason is not None)
    if "paid" in expect:
        compare("paid", expect["paid"], outcome.paid_info is not None)
    if "callback_date" in expect:
        got_day = outcome.callback_at.date().isoformat() if outcome.callback_at else None
        compare("callback_date", expect["callback_date"], got_day)
    if "opt_out" in expect:
        compare("opt_out", expect["opt_out"], outcome.opt_out)
    if "phone_invalid" in expect:
        compare("phone_invalid", expect["phone_invalid"], outcome.phone_invalid)
    if "transfer" in expect:
        compare("transfer", expect["transfer"], outcome.transfer_reason is not None)
    return tuple(failures)


def evaluate(plan: Dialplan, conversations: Iterable[Conversation]) -> Report:
    report = Report()
    for conversation in conversations:
        outcome, _line = play(plan, conversation)
        report.results.append(Result(conversation, outcome, check(conversation, outcome)))
    return report


def render(report: Report) -> str:
    """The score, then each miss with what failed and the whole transcript."""
    total = len(report.results)
    lines = [f"{report.passed}/{total} conversations end as expected"]
    for result in report.results:
        if result.passed:
            continue
        c = result.conversation
        lines.append("")
        lines.append(f"MISS {c.id} (line {c.line}), final state {result.outcome.final_state}")
        for f in result.failures:
            lines.append(f"  {f.key}: expected {f.expected}, got {f.got}")
        for turn in result.outcome.transcript:
            who = "BOT" if turn.speaker == "bot" else "DEUDOR"
            intent = f"  [{turn.intent}]" if turn.intent else ""
            lines.append(f"    {who}: {turn.text}{intent}")
    return "\n".join(lines)
