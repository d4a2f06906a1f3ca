"""Whether this worker can reach the database, and how long to wait before trying again.

A worker rides out a database outage instead of dying: calls in progress carry on,
claiming pauses, writes wait in the journal and are retried with exponential
backoff and full jitter (so a fleet does not hammer a database that just came back
in lockstep), and everything resumes on its own. The state is what the worker's
health endpoint and metrics show.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import InterfaceError, OperationalError

log = logging.getLogger(__name__)

# Errors that mean "the database is not there right now", not "this write is wrong".
DATABASE_DOWN = (OperationalError, InterfaceError)

UP, DOWN = "up", "down"


@dataclass
class Backoff:
    """Exponential backoff with full jitter: a random wait in [0, min(cap, base·2ⁿ)]."""

    base_s: float = 0.2
    cap_s: float = 5.0
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0

    def next_delay(self) -> float:
        self.failures += 1
        ceiling = min(self.cap_s, self.base_s * 2 ** min(self.failures, 20))
        return max(0.05, self.rng.uniform(0, ceiling))

    def reset(self) -> None:
        self.failures = 0


@dataclass
class DatabaseHealth:
    """Up or down, since when (on the dialer's clock), and the last error seen."""

    state: str = UP
    since: datetime | None = None
    last_error: str = ""
    outages: int = 0
    backoff: Backoff = field(default_factory=Backoff)

    def failed(self, exc: BaseException, now: datetime) -> float:
        """Record a failure; returns how long to wait before the next try."""
        if self.state == UP:
            self.outages += 1
            log.warning("database unreachable, pausing claims and retrying: %s", exc)
            self.state, self.since = DOWN, now
        self.last_error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        return self.backoff.next_delay()

    def succeeded(self, now: datetime) -> None:
        if self.state == DOWN:
            log.warning("database reachable again after %s: resuming", now - (self.since or now))
            self.state, self.since = UP, now
        elif self.since is None:
            self.since = now
        self.backoff.reset()

    def up_for(self, now: datetime) -> float:
        """Seconds the database has been reachable without a break (0 when down)."""
        if self.state == DOWN or self.since is None:
            return 0.0
        return (now - self.since).total_seconds()
