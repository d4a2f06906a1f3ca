"""The worker's own health endpoint: is it alive, can it reach the database, what is unsaved.

A container orchestrator restarts a worker that stops answering; an operator (or
Prometheus) sees a worker riding out a database outage instead of guessing. ``/health``
answers 200 while the process works, even with the database down (restarting would
not help: the calls in progress and the journal are exactly what must survive);
``/ready`` answers 503 while claims are paused; ``/metrics`` is Prometheus text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from aiohttp import web

Snapshot = Callable[[], Mapping[str, object]]


def make_app(snapshot: Snapshot) -> web.Application:
    async def health(_: web.Request) -> web.Response:
        return web.json_response(dict(snapshot()), dumps=json.dumps)

    async def ready(_: web.Request) -> web.Response:
        state = dict(snapshot())
        return web.json_response(state, status=200 if state.get("claiming") else 503)

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(text=render_metrics(snapshot()), content_type="text/plain")

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics)
    return app


def render_metrics(state: Mapping[str, object]) -> str:
    worker = str(state.get("worker", ""))
    values = {
        "voicebot_worker_database_up": 1 if state.get("database") == "up" else 0,
        "voicebot_worker_claiming": 1 if state.get("claiming") else 0,
        "voicebot_worker_calls_in_progress": state.get("calls_in_progress", 0),
        "voicebot_worker_unsaved_writes": state.get("unsaved_writes", 0),
        "voicebot_worker_database_outages_total": state.get("outages", 0),
        "voicebot_worker_leases_lost_total": state.get("leases_lost", 0),
    }
    return "".join(f'{name}{{worker="{worker}"}} {value}\n' for name, value in values.items())


async def serve(snapshot: Snapshot, host: str, port: int) -> web.AppRunner:
    """Start serving; the caller cleans up the returned runner."""
    runner = web.AppRunner(make_app(snapshot))
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
