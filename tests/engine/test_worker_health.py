"""The worker's health endpoint over real HTTP: alive while riding out an outage, not ready."""

from __future__ import annotations

import asyncio
import socket

import aiohttp

from voicebot.engine.worker_health import serve


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_health_stays_up_while_readiness_follows_the_database() -> None:
    state: dict[str, object] = {
        "worker": "w1",
        "database": "down",
        "claiming": False,
        "calls_in_progress": 2,
        "unsaved_writes": 3,
        "outages": 1,
        "leases_lost": 0,
    }
    port = free_port()

    async def scenario() -> list[tuple[int, str]]:
        runner = await serve(lambda: state, "127.0.0.1", port)
        seen = []
        try:
            async with aiohttp.ClientSession() as http:
                for path in ("/health", "/ready", "/metrics"):
                    async with http.get(f"http://127.0.0.1:{port}{path}") as reply:
                        seen.append((reply.status, await reply.text()))
                state.update(database="up", claiming=True, unsaved_writes=0)
                async with http.get(f"http://127.0.0.1:{port}/ready") as reply:
                    seen.append((reply.status, await reply.text()))
        finally:
            await runner.cleanup()
        return seen

    (health, body), (ready, _), (metrics, text), (ready_again, _) = asyncio.run(scenario())
    assert (health, ready, metrics, ready_again) == (200, 503, 200, 200)
    assert '"database": "down"' in body and '"unsaved_writes": 3' in body
    assert 'voicebot_worker_database_up{worker="w1"} 0' in text
    assert 'voicebot_worker_unsaved_writes{worker="w1"} 3' in text
