"""Call pacing: token buckets for calls per second, per campaign and per carrier trunk.

Carriers reject (or flag as spam) bursts above a trunk's contracted CPS, and a
campaign manager caps a campaign's rate so agents behind transfers are not flooded.
A bucket is pure arithmetic over an injected clock, so a simulated week paces the
same way as the wall clock. Buckets are per worker process: a fleet's total rate is
the sum of its workers' rates, so give each worker its share of the trunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass
class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; starts full."""

    rate: float
    burst: float
    tokens: float = -1.0
    updated: datetime | None = None

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError(
                f"a bucket needs rate > 0 and burst >= 1, got {self.rate}/{self.burst}"
            )
        if self.tokens < 0:
            self.tokens = self.burst

    def _refill(self, now: datetime) -> None:
        if self.updated is not None and now > self.updated:
            elapsed = (now - self.updated).total_seconds()
            self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        if self.updated is None or now > self.updated:
            self.updated = now

    def available(self, now: datetime) -> int:
        """Whole calls that may start at ``now``."""
        self._refill(now)
        return int(self.tokens)

    def take(self, count: int, now: datetime) -> None:
        self._refill(now)
        if count > int(self.tokens):
            raise ValueError(f"took {count} calls with {self.tokens:.2f} tokens left")
        self.tokens -= count

    def seconds_until(self, count: int, now: datetime) -> float:
        """How long to wait before ``count`` calls may start (0 when they may now)."""
        self._refill(now)
        missing = count - self.tokens
        return 0.0 if missing <= 0 else missing / self.rate


@dataclass
class Pacer:
    """The tighter of a campaign's bucket and the trunk's bucket decides."""

    campaign: TokenBucket
    trunk: TokenBucket | None = None

    def allowance(self, now: datetime) -> int:
        buckets = [self.campaign] + ([self.trunk] if self.trunk else [])
        return min(bucket.available(now) for bucket in buckets)

    def spend(self, count: int, now: datetime) -> None:
        self.campaign.take(count, now)
        if self.trunk is not None:
            self.trunk.take(count, now)

    def wait_s(self, now: datetime) -> float:
        buckets = [self.campaign] + ([self.trunk] if self.trunk else [])
        return max(bucket.seconds_until(1, now) for bucket in buckets)


def campaign_bucket(calls_per_second: float) -> TokenBucket:
    """A campaign may start at most one second's worth of calls at once."""
    return TokenBucket(rate=calls_per_second, burst=max(1.0, calls_per_second))
