"""Score understanding against labeled utterances (JSONL), and say what it missed.

One labeled line: {"text": ..., "intent": ..., "amount"?: number, "date"?: ISO day
or a list of acceptable ISO days}. Amount and date are scored only over the lines
that carry them. A malformed line stops the run with its line number, so a typo
in a data set never silently shrinks it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from voicebot.dialog.understanding import Intent, Understanding

Understand = Callable[[str], Understanding]


class LabeledDataError(ValueError):
    """A labeled line that cannot be read; `line` is 1-based."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem}")
        self.line = line
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Example:
    line: int
    text: str
    intent: Intent
    amount: Decimal | None = None
    dates: tuple[date, ...] | None = None  # any of these is right


@dataclass(frozen=True, slots=True)
class Miss:
    line: int
    text: str
    field: str  # "intent", "amount" or "date"
    expected: str
    got: str


@dataclass(slots=True)
class Score:
    intents: int = 0
    intents_right: int = 0
    amounts: int = 0
    amounts_right: int = 0
    dates: int = 0
    dates_right: int = 0
    misses: list[Miss] = field(default_factory=list)

    @staticmethod
    def _rate(right: int, total: int) -> float | None:
        return right / total if total else None

    @property
    def intent_accuracy(self) -> float | None:
        return self._rate(self.intents_right, self.intents)

    @property
    def amount_exact(self) -> float | None:
        return self._rate(self.amounts_right, self.amounts)

    @property
    def date_exact(self) -> float | None:
        return self._rate(self.dates_right, self.dates)

    def to_json(self) -> dict[str, Any]:
        return {
            "intent": {
                "total": self.intents,
                "right": self.intents_right,
                "accuracy": self.intent_accuracy,
            },
            "amount": {
                "total": self.amounts,
                "right": self.amounts_right,
                "exact": self.amount_exact,
            },
            "date": {"total": self.dates, "right": self.dates_right, "exact": self.date_exact},
            "misses": [
                {
                    "line": m.line,
                    "text": m.text,
                    "field": m.field,
                    "expected": m.expected,
                    "got": m.got,
                }
                for m in self.misses
            ],
        }


def _day(value: Any, line: int) -> date:
    if not isinstance(value, str):
        raise LabeledDataError(line, f'"date" must be an ISO day (YYYY-MM-DD), not {value!r}')
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise LabeledDataError(line, f'"date" is not an ISO day (YYYY-MM-DD): {value!r}') from None


def parse_example(raw: str, line: int) -> Example:
    """One JSONL line as a labeled example, or a LabeledDataError saying what is wrong."""
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise LabeledDataError(line, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise LabeledDataError(line, "expected a JSON object")
    text = obj.get("text")
    if not isinstance(text, str):
        raise LabeledDataError(line, 'missing "text" (a string)')
    label = obj.get("intent")
    if not isinstance(label, str):
        raise LabeledDataError(line, 'missing "intent" (a string)')
    if label not in Intent.__members__.values():
        known = ", ".join(i.value for i in Intent)
        raise LabeledDataError(line, f'"intent" {label!r} is not one of: {known}')
    intent = Intent(label)
    amount: Decimal | None = None
    if obj.get("amount") is not None:
        value = obj["amount"]
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise LabeledDataError(line, f'"amount" must be a number, not {value!r}')
        try:
            amount = Decimal(str(value))
        except ArithmeticError:
            raise LabeledDataError(line, f'"amount" must be a number, not {value!r}') from None
    dates: tuple[date, ...] | None = None
    if obj.get("date") is not None:
        labeled = obj["date"]
        items = labeled if isinstance(labeled, list) else [labeled]
        if not items:
            raise LabeledDataError(line, '"date" list is empty')
        dates = tuple(_day(item, line) for item in items)
    return Example(line, text, intent, amount, dates)


def read_examples(lines: Iterable[str]) -> list[Example]:
    """Every labeled example; blank lines are skipped, bad ones raise with their number."""
    return [parse_example(raw, number) for number, raw in enumerate(lines, start=1) if raw.strip()]


def score(examples: Iterable[Example], understand: Understand) -> Score:
    """Intent accuracy and amount/date exact match, with every miss listed."""
    result = Score()
    for ex in examples:
        got = understand(ex.text)
        result.intents += 1
        if got.intent is ex.intent:
            result.intents_right += 1
        else:
            result.misses.append(
                Miss(ex.line, ex.text, "intent", ex.intent.value, got.intent.value)
            )
        if ex.amount is not None:
            result.amounts += 1
            if got.amount is not None and got.amount == ex.amount:
                result.amounts_right += 1
            else:
                result.misses.append(
                    Miss(ex.line, ex.text, "amount", str(ex.amount), str(got.amount))
                )
        if ex.dates is not None:
            result.dates += 1
            if got.date in ex.dates:
                result.dates_right += 1
            else:
                expected = " | ".join(d.isoformat() for d in ex.dates)
                shown = got.date.isoformat() if got.date else "None"
                result.misses.append(Miss(ex.line, ex.text, "date", expected, shown))
    return result


def render(result: Score) -> str:
    """A human report: three rates, then the misses grouped by expected intent/field."""

    def rate(right: int, total: int) -> str:
        return f"{right}/{total} = {100 * right / total:.1f} %" if total else "n/a (no labels)"

    lines = [
        f"intent accuracy:    {rate(result.intents_right, result.intents)}",
        f"amount exact match: {rate(result.amounts_right, result.amounts)}",
        f"date exact match:   {rate(result.dates_right, result.dates)}",
    ]
    if not result.misses:
        lines.append("no misses")
        return "\n".join(lines)
    lines.append("misses:")
    groups: dict[str, list[Miss]] = {}
    for miss in result.misses:
        key = miss.expected if miss.field == "intent" else miss.field
        groups.setdefault(f"{miss.field} {key}" if miss.field == "intent" else key, []).append(miss)
    for key in sorted(groups):
        lines.append(f"  {key} ({len(groups[key])}):")
        for miss in groups[key]:
            lines.append(
                f"    line {miss.line}: {miss.text!r}: expected {miss.expected}, got {miss.got}"
            )
    return "\n".join(lines)
