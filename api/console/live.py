"""Server-sent events for the dashboard and the agent desk: one computation per tick.

Every open dashboard of a campaign in one language shares a ``SharedFeed``: the first
stream to ask after a tick computes the snapshot and renders the fragment once (in a
worker thread), the others await it and send the same bytes: fifty screens cost one set
of queries, one rendering and one digest per tick, not fifty. A connection sends an event
only when the fragment changed, and a comment line as a heartbeat otherwise, so proxies
keep it open and a closed tab is noticed.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool

from api.console.dashboard import dashboard_snapshot
from api.status_cache import StatusCache

HEARTBEAT_TICKS = 15
SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def live_snapshot(app: FastAPI, campaign_id: int) -> dict[str, Any]:
    """The campaign's dashboard data, shared by every viewer within one tick."""
    cache: StatusCache = app.state.console_live

    def compute() -> dict[str, Any]:
        with app.state.sessions() as s:
            return dashboard_snapshot(s, campaign_id, app.state.console_tally)

    return cache.get(campaign_id, compute)


def sse_event(event: str, html: str) -> str:
    data = "\n".join(f"data: {line}" for line in html.splitlines() or [""])
    return f"event: {event}\n{data}\n\n"


Frame = tuple[str, str]  # (digest of the fragment, the whole SSE event)
Source = Callable[[], Awaitable[Frame]]


def frame(event: str, html: str) -> Frame:
    return hashlib.blake2b(html.encode(), digest_size=16).hexdigest(), sse_event(event, html)


class SharedFeed:
    """One rendering per tick for every stream that shows the same fragment.

    Streams live on one event loop, so an asyncio lock is enough: the first caller after
    the tick renders, the ones queued behind it get that frame without rendering again.
    """

    def __init__(self, event: str, render: Callable[[], str], tick: float) -> None:
        self._event = event
        self._render = render
        self._tick = tick
        self._lock = asyncio.Lock()
        self._frame: Frame | None = None
        self._at = 0.0

    async def next(self) -> Frame:
        async with self._lock:
            # Streams wake at their own phase of the tick: a frame younger than most of a
            # tick is the current one.
            if self._frame is None or time.monotonic() - self._at >= 0.8 * self._tick:
                self._frame = frame(self._event, await run_in_threadpool(self._render))
                self._at = time.monotonic()
            return self._frame


def own_frames(event: str, render: Callable[[], str]) -> Source:
    """A stream of its own (the agent's desk: every agent sees a different one)."""

    async def next_frame() -> Frame:
        return frame(event, await run_in_threadpool(render))

    return next_frame


async def stream(request: Request, source: Source, tick: float) -> AsyncIterator[str]:
    """Takes a frame every tick (rendered in a worker thread: queries block) and sends what
    changed."""
    last = ""
    idle = 0
    yield "retry: 2000\n\n"
    while not await request.is_disconnected():
        digest, message = await source()
        if digest != last:
            last = digest
            idle = 0
            yield message
        else:
            idle += 1
            if idle >= HEARTBEAT_TICKS:
                idle = 0
                yield ": heartbeat\n\n"
        await asyncio.sleep(tick)
