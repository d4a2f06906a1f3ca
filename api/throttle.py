"""Failed-key throttling: a client that presents too many wrong API keys waits.

Keys are 256-bit, so guessing is hopeless, but 200 quick 401s in a row are still
an attack worth slowing down and a misconfigured client worth telling clearly
(429 with ``Retry-After``). Counted per client address over a sliding minute;
while a client is over the limit every key it presents is refused, valid or not,
so the limit cannot be probed. Memory is bounded: the stalest clients are dropped.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

WINDOW_SECONDS = 60.0
MAX_CLIENTS = 10_000


class KeyThrottle:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        failures = self._failures.get(client)
        if failures is None:
            return deque()
        while failures and failures[0] <= now - WINDOW_SECONDS:
            failures.popleft()
        if not failures:
            del self._failures[client]
        return failures

    def retry_after(self, client: str) -> int | None:
        """Seconds until ``client`` may present a key again, or None if it may now."""
        if self.per_minute <= 0:
            return None
        with self._lock:
            now = self.clock()
            failures = self._recent(client, now)
            if len(failures) < self.per_minute:
                return None
            return max(1, int(failures[0] + WINDOW_SECONDS - now + 0.999))

    def failed(self, client: str) -> None:
        with self._lock:
            now = self.clock()
            self._recent(client, now)
            failures = self._failures.setdefault(client, deque())
            failures.append(now)
            self._failures.move_to_end(client)
            while len(self._failures) > MAX_CLIENTS:
                self._failures.popitem(last=False)
