"""Campaign status for dashboards: recomputed at most every few seconds, once for all callers.

Status aggregates every attempt of a campaign (a second or more at 100k calls),
while a wall of dashboards polls it: a short time-to-live plus one computation
per campaign at a time (the others get the previous value meanwhile) keeps the database out of the
polling loop. State changes made through the API drop the entry at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class _Entry:
    value: dict[str, Any]
    monotonic: float


class StatusCache:
    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._entries: dict[int, _Entry] = {}
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()

    def _fresh(self, campaign_id: int) -> dict[str, Any] | None:
        entry = self._entries.get(campaign_id)
        if entry is not None and time.monotonic() - entry.monotonic < self.ttl:
            return entry.value
        return None

    def get(self, campaign_id: int, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The cached status, or a fresh one stamped with ``as_of``.

        While one caller recomputes an expired entry the others get the previous value
        (stale by at most one computation) instead of queueing behind it.
        """
        if (value := self._fresh(campaign_id)) is not None:
            return value
        with self._guard:
            lock = self._locks.setdefault(campaign_id, threading.Lock())
        stale = self._entries.get(campaign_id)
        if not lock.acquire(blocking=stale is None):
            assert stale is not None
            return stale.value
        try:
            if (value := self._fresh(campaign_id)) is not None:
                return value
            value = {**compute(), "as_of": datetime.now(UTC).isoformat()}
            if self.ttl > 0:
                self._entries[campaign_id] = _Entry(value, time.monotonic())
            return value
        finally:
            lock.release()

    def forget(self, campaign_id: int) -> None:
        self._entries.pop(campaign_id, None)
