"""Token buckets: calls per second per campaign and per trunk, over an injected clock."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from voicebot.engine.pacing import Pacer, TokenBucket, campaign_bucket

T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def test_a_full_bucket_allows_a_burst_then_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=4)
    assert bucket.available(T0) == 4
    bucket.take(4, T0)
    assert bucket.available(T0) == 0
    assert bucket.seconds_until(1, T0) == pytest.approx(0.5)
    assert bucket.available(T0 + timedelta(milliseconds=499)) == 0
    assert bucket.available(T0 + timedelta(milliseconds=500)) == 1
    assert bucket.available(T0 + timedelta(hours=1)) == 4  # never more than the burst


def test_taking_more_than_available_is_an_error_and_spends_nothing() -> None:
    bucket = TokenBucket(rate=1.0, burst=2)
    with pytest.raises(ValueError, match="took 3 calls"):
        bucket.take(3, T0)
    assert bucket.available(T0) == 2


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1.0), (-1.0, 2.0), (1.0, 0.5)])
def test_a_bucket_that_could_never_dial_is_refused(rate: float, burst: float) -> None:
    with pytest.raises(ValueError, match="rate > 0"):
        TokenBucket(rate=rate, burst=burst)


def test_the_trunk_limits_a_faster_campaign() -> None:
    pacer = Pacer(campaign_bucket(10.0), TokenBucket(rate=3.0, burst=3))
    assert pacer.allowance(T0) == 3
    pacer.spend(3, T0)
    assert pacer.allowance(T0) == 0
    assert pacer.wait_s(T0) == pytest.approx(1 / 3)


def test_a_clock_going_backwards_never_mints_tokens() -> None:
    bucket = TokenBucket(rate=1.0, burst=1)
    bucket.take(1, T0)
    assert bucket.available(T0 - timedelta(seconds=30)) == 0
    assert bucket.available(T0 + timedelta(seconds=1)) == 1


@pytest.mark.parametrize("seed", range(40))
def test_no_window_ever_starts_more_calls_than_rate_times_length_plus_burst(seed: int) -> None:
    """A greedy dialler taking everything it is allowed stays under rate·t + burst."""
    rng = random.Random(seed)
    rate = rng.uniform(0.1, 20)
    steps = [rng.randrange(0, 3000) for _ in range(rng.randrange(1, 120))]
    bucket = campaign_bucket(rate)
    now = T0
    started: list[datetime] = []
    for step_ms in steps:
        now += timedelta(milliseconds=step_ms)
        count = bucket.available(now)
        bucket.take(count, now)
        started.extend([now] * count)
    instants = sorted(set(started))
    first_index = {t: started.index(t) for t in instants}
    last_index = {t: len(started) - 1 - started[::-1].index(t) for t in instants}
    for a, first in enumerate(instants):
        for last in instants[a:]:
            calls = last_index[last] - first_index[first] + 1
            window = (last - first).total_seconds()
            assert calls <= rate * window + bucket.burst + 1e-9
