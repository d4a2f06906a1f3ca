"""Server-sent events for the dashboard and the agent desk: one computation per tick.

Every open dashboard of a campaign reads the same snapshot from a cache whose
time-to-live is the tick (``api.console_tick_seconds``): fifty screens cost one set
of queries per tick, not fifty. A connection sends an event only when its rendered
fragment changed, and a comment line as a heartbeat otherwise, so proxies keep it open
and a closed tab is noticed.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
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


async def stream(
    request: Request, event: str, render: Callable[[], str], tick: float
) -> AsyncIterator[str]:
    """Renders every tick (in a worker thread: queries block) and sends what changed."""
    last = ""
    idle = 0
    yield "retry: 2000\n\n"
    while not await request.is_disconnected():
        html = await run_in_threadpool(render)
        digest = hashlib.blake2b(html.encode(), digest_size=16).hexdigest()
        if digest != last:
            last = digest
            idle = 0
            yield sse_event(event, html)
        else:
            idle += 1
            if idle >= HEARTBEAT_TICKS:
                idle = 0
                yield ": heartbeat\n\n"
        await asyncio.sleep(tick)
