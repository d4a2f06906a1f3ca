"""Outcomes API under load: campaign status and the calls list with 100,000 calls stored.

Run: .venv/bin/python bench/bench_api.py [--calls 100000] [--threads 8] [--seconds 10]
                                        [--db sqlite|postgresql|both]
Seeds the database with bulk inserts (debtors, attempts, outcomes with short
transcripts, promises), starts ``voicebot serve`` (uvicorn, one process) on loopback
in a subprocess, and drives each endpoint from several client threads for a bounded
time. Prints requests per second and latency percentiles per endpoint. Client and
server share the machine's cores, so the figures are a floor for a dedicated host.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import _repo  # noqa: F401  (puts testbeds/ on sys.path)
import httpx
from sqlalchemy import insert

from api.security import create_api_key
from testbeds.postgres import start_postgres
from voicebot.campaigns.status import campaign_status
from voicebot.storage import models as m
from voicebot.storage.db import make_engine, session_factory, transaction, upgrade

VOICEBOT = Path(sys.executable).parent / "voicebot"
DISPOSITIONS = ["NA"] * 40 + ["BUSY"] * 8 + ["VM"] * 10 + ["RPC"] * 12 + ["PTP"] * 10
DISPOSITIONS += ["PPTP"] * 4 + ["RTP"] * 6 + ["WPC"] * 4 + ["TPC"] * 3 + ["DNC"] * 1
DISPOSITIONS += ["DROP"] * 2
BATCH = 5000


def _transcript(rng: random.Random, at: datetime, disposition: str) -> list[dict[str, Any]]:
    if disposition in {"NA", "BUSY", "VM"}:
        return []
    turns = []
    for i in range(rng.randrange(2, 6)):
        turns.append(
            {
                "at": (at + timedelta(seconds=8 * i)).isoformat(),
                "speaker": "bot",
                "text": "¿Hablo con la persona titular?",
            }
        )
        turns.append(
            {
                "at": (at + timedelta(seconds=8 * i + 4)).isoformat(),
                "speaker": "debtor",
                "text": "sí, soy yo",
                "intent": "affirm",
                "confidence": round(rng.uniform(0.6, 1.0), 3),
            }
        )
    return turns


def seed(url: str, calls: int) -> str:
    """Bulk-insert ``calls`` finished calls; returns an API key for the benchmark."""
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    rng = random.Random(7)
    debtors = max(calls // 5, 1)
    start = datetime(2026, 10, 1, 13, 0, tzinfo=UTC)
    with transaction(sessions) as s:
        _, key = create_api_key(s, name="bench", role="manager", actor="bench", now=start)
        s.execute(
            insert(m.Campaign),
            [
                {
                    "id": 1,
                    "name": "bench",
                    "dialplan": "cobranza_es",
                    "jurisdiction": "CO",
                    "default_region": "CO",
                    "status": "running",
                }
            ],
        )
    with engine.begin() as conn:
        for lo in range(0, debtors, BATCH):
            ids = range(lo + 1, min(lo + BATCH, debtors) + 1)
            conn.execute(
                insert(m.Debtor),
                [
                    {
                        "id": i,
                        "external_id": f"B{i:07d}",
                        "full_name": f"Deudor {i}",
                        "document_id": str(10**7 + i),
                        "segment": rng.choice("ABC"),
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(m.CampaignDebtor), [{"campaign_id": 1, "debtor_id": i} for i in ids]
            )
        for lo in range(0, calls, BATCH):
            attempts, outcomes, promises = [], [], []
            for i in range(lo + 1, min(lo + BATCH, calls) + 1):
                debtor = (i - 1) % debtors + 1
                at = start + timedelta(minutes=i * 0.4)
                disposition = rng.choice(DISPOSITIONS)
                ended = at + timedelta(seconds=rng.randrange(20, 240))
                attempts.append(
                    {
                        "id": i,
                        "campaign_id": 1,
                        "debtor_id": debtor,
                        "number": (i - 1) // debtors + 1,
                        "status": "done",
                        "due_at": at,
                        "started_at": at,
                        "ended_at": ended,
                        "disposition": disposition,
                    }
                )
                outcomes.append(
                    {
                        "attempt_id": i,
                        "campaign_id": 1,
                        "debtor_id": debtor,
                        "disposition": disposition,
                        "right_party": disposition in {"RPC", "PTP", "PPTP", "RTP", "DNC"},
                        "transcript": _transcript(rng, at, disposition),
                        "started_at": at,
                        "ended_at": ended,
                    }
                )
                if disposition in {"PTP", "PPTP"}:
                    promises.append(
                        {
                            "debtor_id": debtor,
                            "campaign_id": 1,
                            "attempt_id": i,
                            "amount": Decimal(rng.randrange(100, 3000) * 1000),
                            "currency": "COP",
                            "due_date": date(2026, 11, 1) + timedelta(days=i % 30),
                            "partial": disposition == "PPTP",
                        }
                    )
            conn.execute(insert(m.CallAttempt), attempts)
            conn.execute(insert(m.CallRecord), outcomes)
            if promises:
                conn.execute(insert(m.PromiseToPay), promises)
    engine.dispose()
    return key


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "VOICEBOT_DATABASE_URL": url}
    server = subprocess.Popen(
        [str(VOICEBOT), "serve", "--port", str(port), "--no-migrate"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return server, base
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the API did not start")


def drive(
    base: str, key: str, path: str, threads: int, seconds: float
) -> tuple[int, list[float], int]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker() -> None:
        nonlocal errors
        mine: list[float] = []
        bad = 0
        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=60) as client:
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                response = client.get(path)
                mine.append(time.perf_counter() - started)
                bad += response.status_code != 200
        with lock:
            latencies.extend(mine)
            errors += bad

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return len(latencies), latencies, errors


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


ENDPOINTS = [
    ("campaign status (2 s cache)", "/campaigns/1/status"),
    ("calls list, newest 50", "/calls?limit=50"),
    (
        "calls list, PTP in a date range",
        "/calls?campaign_id=1&disposition=PTP&since=2026-10-20T00:00:00Z&until=2026-11-20T00:00:00Z&limit=50",
    ),
    ("calls list, offset 50,000", "/calls?limit=50&offset=50000"),
]


def measure(label: str, url: str, calls: int, threads: int, seconds: float) -> None:
    started = time.perf_counter()
    key = seed(url, calls)
    print(f"{label}: seeded {calls:,} calls in {time.perf_counter() - started:.1f} s")
    engine = make_engine(url)
    with session_factory(engine)() as session:
        took = []
        for _ in range(3):
            began = time.perf_counter()
            campaign_status(session, campaign_id=1)
            took.append(time.perf_counter() - began)
    engine.dispose()
    print(
        f"  one campaign_status computation (what a cache miss costs): "
        f"{statistics.median(took) * 1000:.0f} ms"
    )
    server, base = serve(url)
    try:
        first = httpx.get(
            f"{base}/calls?limit=50&offset=49950", headers={"X-API-Key": key}, timeout=60
        ).json()
        cursor = ("calls list, cursor at 50,000", f"/calls?limit=50&cursor={first['next_cursor']}")
        for name, path in [*ENDPOINTS, cursor]:
            count, latencies, errors = drive(base, key, path, threads, seconds)
            print(
                f"  {name:36} {count / seconds:8.1f} req/s   p50 {percentile(latencies, 0.5) * 1000:7.1f} ms"
                f"   p95 {percentile(latencies, 0.95) * 1000:7.1f} ms   ({count} requests, {errors} errors,"
                f" mean {statistics.fmean(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.0f} ms)"
            )
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    print(
        f"{args.threads} client threads, {args.seconds:.0f} s per endpoint, one uvicorn process, {os.cpu_count()} cores"
    )
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            measure(
                "SQLite", f"sqlite:///{tmp}/bench.sqlite3", args.calls, args.threads, args.seconds
            )
    if args.db in ("postgresql", "both"):
        server = start_postgres()
        try:
            measure("PostgreSQL", server.url, args.calls, args.threads, args.seconds)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
