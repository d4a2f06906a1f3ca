"""Console live dashboard under load: server time per update and 50 open dashboards.

Run: .venv/bin/python bench/bench_console.py [--calls 100000] [--viewers 50] [--seconds 10]
Seeds SQLite with bench_api's bulk seed (``--calls`` finished calls of one campaign),
serves the app in-process (uvicorn, loopback), signs in to the console and keeps
``--viewers`` SSE dashboards of that campaign open. Prints the server time of one
dashboard update (the shared computation: campaign_status plus the hourly and live
counts) as p50/p95/max, how many computations ran against how many events were sent,
and the time to render the first event for the slowest viewer. Client and server share
the machine's cores, so the figures are a floor for a dedicated host.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import _repo  # noqa: F401  (puts the repository root on sys.path)
import httpx
import uvicorn
from bench_api import seed, start_postgres

import api.console.live as live
from api.app import create_app
from voicebot.config import ApiConfig, Settings

TIMES: list[float] = []


def _timed(original: Any) -> Any:
    def wrapper(session: Any, campaign_id: int, tracker: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(session, campaign_id, tracker)
        finally:
            TIMES.append(time.perf_counter() - started)

    return wrapper


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def viewers(base: str, key: str, count: int, seconds: float) -> tuple[int, float]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        page = await client.get("/console/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token is not None
        await client.post("/console/login", data={"csrf": token.group(1), "api_key": key})
        cookies = client.cookies
        events = 0
        firsts: list[float] = []

        async def watch() -> None:
            nonlocal events
            started = time.perf_counter()
            first = True
            async with (
                httpx.AsyncClient(base_url=base, timeout=30, cookies=cookies) as own,
                own.stream("GET", "/console/campaigns/1/live") as response,
            ):
                assert response.status_code == 200, response.status_code
                deadline = started + seconds
                async for line in response.aiter_lines():
                    if line.startswith("event: kpis"):
                        events += 1
                        if first:
                            firsts.append(time.perf_counter() - started)
                            first = False
                    if time.perf_counter() > deadline:
                        break

        await asyncio.gather(*(watch() for _ in range(count)))
        return events, max(firsts) if firsts else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--viewers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    postgres = start_postgres() if args.db == "postgresql" else None
    with tempfile.TemporaryDirectory() as tmp:
        url = postgres.url if postgres else f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        started = time.perf_counter()
        key = seed(url, args.calls)
        print(f"seeded {args.calls} calls in {time.perf_counter() - started:.1f} s")
        live.dashboard_snapshot = _timed(live.dashboard_snapshot)
        settings = Settings(database_url=url, api=ApiConfig(console_tick_seconds=1.0))  # type: ignore[call-arg]
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not server.started:  # startup only; the measurement waits on real events
            time.sleep(0.05)
        events, slowest_first = asyncio.run(viewers(base, key, args.viewers, args.seconds))
        server.should_exit = True
        thread.join(30)
    if postgres is not None:
        postgres.stop()
    ms = [t * 1000 for t in TIMES]
    print(
        f"{args.viewers} dashboards for {args.seconds:.0f} s: {len(TIMES)} computations, "
        f"{events} events sent"
    )
    print(
        f"server time per update: p50 {statistics.median(ms):.1f} ms, "
        f"p95 {percentile(ms, 0.95):.1f} ms, max {max(ms):.1f} ms"
    )
    print(f"slowest viewer's first numbers after {slowest_first * 1000:.0f} ms")


if __name__ == "__main__":
    main()
