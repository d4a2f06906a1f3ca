"""What a campaign does after a broken promise, per debtor segment.

Collections teams do not treat every broken promise alike: a first-time defaulter in a
"preventive" segment gets a text and a call two days later, a hardened one a call at once
and first in line. The policy's ``after_broken`` maps a segment (``*`` for every other) to
that step; a missing entry keeps the historical behavior (a call now, one priority above
the call that got the promise). Pure: the database work lives in ``payments``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ANY_SEGMENT = "*"
FIRST_STEPS = ("call", "text")
STEP_KEYS = ("first", "call_after_hours", "priority")
MAX_DELAY_HOURS = 24 * 30


class StrategyError(ValueError):
    """An ``after_broken`` entry that cannot be used; names the segment and the key."""


@dataclass(frozen=True, slots=True)
class BrokenPromiseStep:
    """``first``: text the debtor now (compliance decides when it may leave) or only call.

    ``call_after_hours``: the call follows this many hours after the promise breaks (with
    a text first, the time the text has to work). ``priority``: the call's place in the
    hopper; ``None`` keeps "one above the call that got the promise".
    """

    first: str = "call"
    call_after_hours: int = 0
    priority: int | None = None

    @property
    def texts(self) -> bool:
        return self.first == "text"


DEFAULT_STEP = BrokenPromiseStep()


def read_strategy(raw: Any) -> dict[str, BrokenPromiseStep]:
    """Segment → step, every value checked; raises ``StrategyError`` naming what is wrong."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise StrategyError(
            "messaging.after_broken: a mapping segment → {first, call_after_hours, priority}"
        )
    return {str(segment): _step(str(segment), spec) for segment, spec in raw.items()}


def _step(segment: str, spec: Any) -> BrokenPromiseStep:
    where = f"messaging.after_broken.{segment}"
    if not segment.strip():
        raise StrategyError(f"messaging.after_broken: a segment name, or {ANY_SEGMENT!r}")
    if not isinstance(spec, Mapping):
        raise StrategyError(f"{where}: expected {{first: call|text, call_after_hours, priority}}")
    unknown = sorted(set(map(str, spec)) - set(STEP_KEYS))
    if unknown:
        raise StrategyError(f"{where}: unknown keys {unknown} (known: {', '.join(STEP_KEYS)})")
    first = spec.get("first", "call")
    if first not in FIRST_STEPS:
        raise StrategyError(f"{where}.first: one of {', '.join(FIRST_STEPS)}, got {first!r}")
    delay = spec.get("call_after_hours", 0)
    if isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= MAX_DELAY_HOURS:
        raise StrategyError(f"{where}.call_after_hours: whole hours 0-{MAX_DELAY_HOURS}")
    priority = spec.get("priority")
    if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)):
        raise StrategyError(f"{where}.priority: a whole number (higher is dialed first)")
    return BrokenPromiseStep(str(first), delay, priority)


def step_for(strategy: Mapping[str, BrokenPromiseStep], segment: str) -> BrokenPromiseStep:
    """The segment's own step, else the ``*`` step, else the default (a call now)."""
    return strategy.get(segment) or strategy.get(ANY_SEGMENT) or DEFAULT_STEP
