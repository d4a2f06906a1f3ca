"""The capacity bench's arithmetic: what a debtor heard, percentiles, the verdict line."""

from __future__ import annotations

import argparse
import importlib
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
bench = importlib.import_module("bench_capacity")


def test_latencies_are_measured_from_the_debtors_side() -> None:
    # The bot spoke at 120 ms (greeting), 3000 ms and 6000 ms; the debtor stopped talking at
    # 2600 ms and 5500 ms, then again at 9000 ms, which the bot never answered (hung up).
    heard = bench.heard_latencies("+57", [3000, 120, 6000], [2600, 5500, 9000])
    assert heard.greeting_ms == 120
    assert heard.turn_ms == (400, 500)
    silent = bench.heard_latencies("+57", [], [1000])
    assert silent.greeting_ms is None and silent.turn_ms == ()


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 21)]  # 1..20
    assert bench.percentile(values, 95) == 19
    assert bench.percentile(values, 50) == 10
    assert bench.percentile([7.0], 95) == 7
    assert math.isnan(bench.percentile([], 95))


def _step(
    calls: int, turns: Sequence[float], greetings: Sequence[float], *, apart: bool = False
) -> Any:
    """Calls all up together (from 0 s to 50 s), or one after the other when ``apart``."""
    heard = [
        bench.CallHeard(
            f"+57{i}",
            g,
            tuple(turns) if i == 0 else (),
            (60.0 * i, 60.0 * i + 50) if apart else (0.0, 50.0),
        )
        for i, g in enumerate(greetings)
    ]
    return bench.step_of(calls, 1, heard)


def test_a_step_passes_only_within_both_limits_and_with_every_call_heard() -> None:
    assert _step(2, [300, 700], [100, 500]).passed
    assert not _step(2, [300, 701], [100, 200]).passed  # one debtor waited too long
    assert not _step(2, [300, 400], [100, 501]).passed  # the greeting came too late
    assert not _step(3, [300, 400], [100, 200]).passed  # a debtor never heard the bot
    assert not _step(2, [], [100, 200]).passed  # no turn measured: nothing to claim
    assert not _step(2, [300, 400], [100, 200], apart=True).passed  # never 2 calls at once


def test_peak_concurrency_counts_calls_up_at_the_same_time() -> None:
    assert bench.peak_concurrency([(0, 10), (5, 15), (9, 20)]) == 3
    assert bench.peak_concurrency([(0, 10), (10, 20)]) == 1  # one ends as the next starts
    assert bench.peak_concurrency([]) == 0


def test_the_capacity_line_names_the_highest_passing_step() -> None:
    steps = [
        _step(4, [300, 400], [100] * 4),
        _step(8, [350, 650], [100] * 7 + [480]),
        _step(12, [400, 2000], [100] * 12),
    ]
    line = bench.capacity_line(steps, 2)
    assert line == ("CAPACITY calls_per_core=4.0 p95_ms=650 greeting_p95_ms=480 calls=8 cores=2")
    assert bench.capacity_line(steps[2:], 2).startswith("CAPACITY calls_per_core=0 ")
    assert "OVER" in bench.table_row(steps[2]) and " ok" in bench.table_row(steps[1])


def test_steps_parse_sorted_and_refuse_nonsense() -> None:
    assert bench.parse_steps("6,2,4,4") == (2, 4, 6)
    for bad in ("", "2,x", "0,2", "-4"):
        with pytest.raises(argparse.ArgumentTypeError):
            bench.parse_steps(bad)


def test_each_step_calls_new_debtors_the_line_can_find() -> None:
    rows = bench.portfolio_csv(3, first=10).splitlines()[1:]
    phones = ["+57" + row.split(";")[3] for row in rows]
    assert [bench.index_of(p) for p in phones] == [10, 11, 12]
    assert all(row.split(";")[2].endswith(bench.DOCUMENT_TAIL) for row in rows)
    assert bench.index_of("+1555") is None
