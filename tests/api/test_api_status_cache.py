"""The status cache: fresh within its time-to-live, one computation at a time, stale while busy."""

from __future__ import annotations

import threading
import time
from typing import Any

from api.status_cache import StatusCache


def test_fresh_entries_are_reused_and_forget_drops_them() -> None:
    cache = StatusCache(ttl_seconds=60)
    calls = []

    def compute() -> dict[str, Any]:
        calls.append(1)
        return {"n": len(calls)}

    assert cache.get(1, compute)["n"] == 1
    assert cache.get(1, compute)["n"] == 1
    assert cache.get(2, compute)["n"] == 2  # per campaign
    cache.forget(1)
    assert cache.get(1, compute)["n"] == 3


def test_while_one_caller_recomputes_the_others_get_the_previous_value() -> None:
    cache = StatusCache(ttl_seconds=0.05)
    assert cache.get(1, lambda: {"v": "old"})["v"] == "old"
    time.sleep(0.1)  # expired
    release = threading.Event()
    started = threading.Event()
    results: list[str] = []

    def slow() -> dict[str, Any]:
        started.set()
        release.wait(5)
        return {"v": "new"}

    worker = threading.Thread(target=lambda: results.append(cache.get(1, slow)["v"]))
    worker.start()
    assert started.wait(5)
    # Not blocked behind the computation: that one only ends once released below.
    assert cache.get(1, lambda: {"v": "never"})["v"] == "old"
    release.set()
    worker.join(5)
    assert results == ["new"]
    assert cache.get(1, lambda: {"v": "never"})["v"] == "new"


def test_first_callers_wait_for_the_single_computation() -> None:
    cache = StatusCache(ttl_seconds=60)
    count = 0
    lock = threading.Lock()

    def compute() -> dict[str, Any]:
        nonlocal count
        with lock:
            count += 1
        time.sleep(0.1)
        return {"v": 1}

    threads = [threading.Thread(target=cache.get, args=(7, compute)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert count == 1
