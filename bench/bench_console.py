"""Console live dashboard under load: server time per update and 50 open dashboards.

Run: .venv/bin/python bench/bench_console.py [--db sqlite|postgresql] [--calls 100000]
     [--viewers 50] [--seconds 20] [--recount-every 30] [--freeze-gc]
Seeds SQLite (or a throwaway PostgreSQL) with bench_api's bulk seed (``--calls``
finished calls of one campaign) and more members up to ``--debtors``, serves the app
in-process (uvicorn, loopback), signs in to the console and keeps ``--viewers`` SSE
dashboards of that campaign open while a writer finishes ``--rate`` more calls per second.
Prints the server time of one dashboard update (the computation every viewer shares:
status, live counters, the day by hour) for the first one (the full recount when the
server starts) and for the following ones (p50/p95/max), the usual ticks (reading what
changed) apart from the full recounts (every ``--recount-every`` ticks: lower it to see
their cost in a short run), and how many computations ran against how many events were
sent, with the machine's load average before and after. Client, writer and server share the machine's cores,
so the figures are a floor for a dedicated host.

Meanwhile an agent signed in to the desk, available, with its event stream open: a
transfer is queued (a ``transfers`` row, as the dialer writes it) every ``--pop-every``
seconds, and the pop latency is the time from its commit to the desk event carrying it
(p50/p95), then it is settled so the next one pops.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import os
import re
import socket
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _repo  # noqa: F401  (puts the repository root on sys.path)
import httpx
import uvicorn
from bench_api import DISPOSITIONS, seed, start_postgres
from sqlalchemy import insert, update

import api.console.live as live
from api.app import create_app
from api.console.live_tally import RECONCILE_TICKS, LiveTally
from api.security import AGENT, create_api_key
from voicebot.config import ApiConfig, Settings
from voicebot.storage import models as m
from voicebot.storage.db import make_engine, session_factory, transaction

TIMES: list[float] = []
CPU: list[float] = []  # the computing thread's own CPU time (no waiting for the cores)
RECOUNTS: list[bool] = []  # whether that computation was a full recount


def _timed(original: Any, freeze_gc: bool) -> Any:
    def wrapper(session: Any, campaign_id: int, tracker: LiveTally) -> Any:
        started, cpu = time.perf_counter(), time.thread_time()
        ticks = tracker.ticks(campaign_id)
        try:
            return original(session, campaign_id, tracker)
        finally:
            TIMES.append(time.perf_counter() - started)
            CPU.append(time.thread_time() - cpu)
            RECOUNTS.append(ticks % tracker.reconcile_every == 0)
            if freeze_gc and len(TIMES) == 1:
                # What a server would do once started: the objects alive now (imports, the
                # app, the first full read) leave the collector's generations, so a full
                # collection no longer walks them (~190 ms here) in the middle of a tick.
                gc.collect()
                gc.freeze()

    return wrapper


def add_members(url: str, first: int, last: int) -> None:
    """Debtors not dialled yet, so the campaign has ``last`` members."""
    engine = make_engine(url)
    with engine.begin() as conn:
        for lo in range(first, last + 1, 5000):
            ids = range(lo, min(lo + 5000, last + 1))
            conn.execute(
                insert(m.Debtor),
                [
                    {
                        "id": i,
                        "external_id": f"B{i:07d}",
                        "full_name": f"Deudor {i}",
                        "document_id": str(10**7 + i),
                        "segment": "ABC"[i % 3],
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(m.CampaignDebtor), [{"campaign_id": 1, "debtor_id": i} for i in ids]
            )
    engine.dispose()


def add_agent(url: str) -> str:
    """An agent with its key, for the desk's pop."""
    engine = make_engine(url)
    with transaction(session_factory(engine)) as s:
        row, key = create_api_key(
            s, name="agente-bench", role=AGENT, actor="bench", now=datetime.now(UTC)
        )
        s.add(m.Agent(name="agente-bench", sip_uri="sip:bench@pbx", api_key_id=row.id))
    engine.dispose()
    return key


def writer(url: str, first_id: int, debtors: int, rate: int, stop: Any) -> int:
    """Finish ``rate`` calls per second (attempt and outcome in one transaction each batch)."""
    engine = make_engine(url)
    next_id = first_id
    batch = max(rate // 5, 1)
    while not stop.wait(0.2):
        at = datetime.now(UTC)
        rows, outcomes = [], []
        for i in range(next_id, next_id + batch):
            disposition = DISPOSITIONS[i % len(DISPOSITIONS)]
            debtor = i % debtors + 1
            rows.append(
                {
                    "id": i,
                    "campaign_id": 1,
                    "debtor_id": debtor,
                    "number": 1000 + i,
                    "status": "done",
                    "due_at": at,
                    "started_at": at,
                    "ended_at": at,
                    "disposition": disposition,
                }
            )
            outcomes.append(
                {
                    "attempt_id": i,
                    "campaign_id": 1,
                    "debtor_id": debtor,
                    "disposition": disposition,
                    "right_party": disposition == "PTP",
                    "transcript": [],
                    "started_at": at,
                    "ended_at": at,
                }
            )
        with engine.begin() as conn:
            conn.execute(insert(m.CallAttempt), rows)
            conn.execute(insert(m.CallRecord), outcomes)
        next_id += batch
    engine.dispose()
    return next_id - first_id


def _write(url: str, first_id: int, debtors: int, rate: int, stop: Any, results: Any) -> None:
    results.put(("written", writer(url, first_id, debtors, rate, stop)))


def _watch(base: str, key: str, count: int, seconds: float, results: Any) -> None:
    results.put(("viewers", asyncio.run(viewers(base, key, count, seconds))))


def _pops(base: str, key: str, url: str, seconds: float, every: float, results: Any) -> None:
    results.put(("pops", asyncio.run(pops(base, key, url, seconds, every))))


async def _sign_in(client: httpx.AsyncClient, key: str) -> str:
    page = await client.get("/console/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    response = await client.post(
        "/console/login", data={"csrf": token.group(1), "api_key": key}, follow_redirects=True
    )
    csrf = re.search(r'name="csrf" value="([^"]+)"', response.text)
    assert csrf is not None, "signed in"
    return csrf.group(1)


async def pops(base: str, key: str, url: str, seconds: float, every: float) -> list[float]:
    """Queue a transfer, time until the desk's stream shows it, settle it; repeat."""
    engine = make_engine(url)
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        csrf = await _sign_in(client, key)
        await client.post("/console/desk/status", data={"csrf": csrf, "status": "available"})
        deadline = time.perf_counter() + seconds
        async with client.stream("GET", "/console/desk/live") as response:
            assert response.status_code == 200, response.status_code
            lines = response.aiter_lines()
            while time.perf_counter() < deadline:
                await asyncio.sleep(every)
                with engine.begin() as conn:
                    inserted = conn.execute(
                        insert(m.TransferRequest).values(
                            attempt_id=1,
                            debtor_id=1,
                            reason="bench",
                            context={"summary": "", "turns": [], "verified": True},
                            created_at=datetime.now(UTC),
                        )
                    ).inserted_primary_key
                    assert inserted is not None
                    transfer = inserted[0]
                queued = time.perf_counter()
                async for line in lines:
                    if f'data-transfer="{transfer}"' in line:
                        latencies.append(time.perf_counter() - queued)
                        break
                with engine.begin() as conn:
                    conn.execute(
                        update(m.TransferRequest)
                        .where(m.TransferRequest.id == transfer)
                        .values(status="failed")
                    )
    engine.dispose()
    return latencies


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
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--debtors", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=50, help="calls finishing per second")
    parser.add_argument("--pop-every", type=float, default=1.0, help="seconds between transfers")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--recount-every", type=int, default=RECONCILE_TICKS, help="ticks between full recounts"
    )
    parser.add_argument(
        "--freeze-gc", action="store_true", help="gc.freeze() after the first update"
    )
    args = parser.parse_args()
    postgres = start_postgres() if args.db == "postgresql" else None
    with tempfile.TemporaryDirectory() as tmp:
        url = postgres.url if postgres else f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        started = time.perf_counter()
        key = seed(url, args.calls)
        seeded = max(args.calls // 5, 1)  # bench_api's seed: five calls per debtor
        if args.debtors > seeded:
            add_members(url, seeded + 1, args.debtors)
        if postgres is not None:
            # What autovacuum does after a bulk load: statistics, and the visibility map
            # that lets the per-tick counts read the indexes alone.
            engine = make_engine(url)
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
            engine.dispose()
        print(
            f"seeded {args.calls} calls, {max(args.debtors, seeded)} debtors in "
            f"{time.perf_counter() - started:.1f} s"
        )
        agent_key = add_agent(url)
        live.dashboard_snapshot = _timed(live.dashboard_snapshot, args.freeze_gc)
        settings = Settings(database_url=url, api=ApiConfig(console_tick_seconds=1.0))  # type: ignore[call-arg]
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        app = create_app(settings)
        app.state.console_tally = LiveTally(reconcile_every=args.recount_every)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not server.started:  # startup only; the measurement waits on real events
            time.sleep(0.05)
        # Viewers and writer in their own processes: the server's timings are its own, not
        # its share of one interpreter lock with fifty clients.
        spawn = multiprocessing.get_context("spawn")
        stop = spawn.Event()
        results = spawn.Queue()
        writing = spawn.Process(
            target=_write,
            args=(url, args.calls + 1, max(args.debtors, seeded), args.rate, stop, results),
        )
        watching = spawn.Process(
            target=_watch, args=(base, key, args.viewers, args.seconds, results)
        )
        popping = spawn.Process(
            target=_pops, args=(base, agent_key, url, args.seconds, args.pop_every, results)
        )
        load_before = os.getloadavg()
        writing.start()
        watching.start()
        popping.start()
        watching.join()
        popping.join()
        stop.set()
        writing.join()
        load_after = os.getloadavg()
        outcome = dict(results.get() for _ in range(3))
        popped = sorted(outcome["pops"])
        written, (events, slowest_first) = [outcome["written"]], outcome["viewers"]
        server.should_exit = True
        thread.join(30)
    if postgres is not None:
        postgres.stop()
    ms = [t * 1000 for t in TIMES]
    warm = ms[1:] or ms
    usual = [t for t, full in zip(ms[1:], RECOUNTS[1:], strict=True) if not full]
    recounts = [t for t, full in zip(ms[1:], RECOUNTS[1:], strict=True) if full]
    print(
        f"{args.db}: {args.viewers} dashboards for {args.seconds:.0f} s while {written[0]} "
        f"calls finished: {len(TIMES)} computations, {events} events sent"
    )
    print(
        "machine load average (1 min) before/after: "
        f"{load_before[0]:.2f}/{load_after[0]:.2f} on {os.cpu_count()} cores"
    )
    print(f"first update (the full recount when the server starts): {ms[0]:.0f} ms")
    print(
        f"server time per update after it: p50 {statistics.median(warm):.1f} ms, "
        f"p95 {percentile(warm, 0.95):.1f} ms, max {max(warm):.1f} ms"
    )
    if usual:
        print(
            f"  usual ticks ({len(usual)}): p50 {statistics.median(usual):.1f} ms, "
            f"p95 {percentile(usual, 0.95):.1f} ms, max {max(usual):.1f} ms"
        )
    print(
        f"  full recounts every {args.recount_every} ticks ({len(recounts)}): "
        + (f"max {max(recounts):.1f} ms" if recounts else "none in this run")
    )
    cpu = [t * 1000 for t in CPU][1:] or [t * 1000 for t in CPU]
    print(
        f"  its CPU time (the thread's own, without waiting for a core): "
        f"p50 {statistics.median(cpu):.1f} ms, p95 {percentile(cpu, 0.95):.1f} ms"
    )
    print(f"slowest viewer's first numbers after {slowest_first * 1000:.0f} ms")
    if popped:
        ms_pop = [t * 1000 for t in popped]
        print(
            f"agent pop (transfer committed -> desk event received), {len(ms_pop)} transfers: "
            f"p50 {statistics.median(ms_pop):.0f} ms, p95 {percentile(ms_pop, 0.95):.0f} ms, "
            f"max {max(ms_pop):.0f} ms"
        )


if __name__ == "__main__":
    main()
