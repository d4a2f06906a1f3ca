"""Portfolio import throughput: a realistic 100,000-row CSV into SQLite and PostgreSQL.

Run: .venv/bin/python bench/bench_import.py [--rows 100000] [--db sqlite|postgresql|both]
Prints rows per second for the first import and for an idempotent re-import, with the CPU
seconds of the storing process, of the validating worker processes and (PostgreSQL) of the
database server, and the load average: on a shared machine the wall clock measures the
neighbors as much as the importer, the CPU seconds do not.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import tempfile
import time
from pathlib import Path

import _repo  # noqa: F401  (puts testbeds/ on sys.path)

from testbeds.postgres import start_postgres
from voicebot.campaigns.portfolio import import_csv
from voicebot.storage.db import make_engine, session_factory, upgrade

FIRST = ["María", "José", "Ana", "Luis", "Carolina", "Jorge", "Paola", "Andrés", "Rosa", "Diego"]
MOBILE = ["300", "301", "310", "311", "312", "313", "314", "315", "316", "317", "318", "320", "350"]
LAST = ["García", "Rodríguez", "Martínez", "López", "González", "Pérez", "Sánchez", "Ramírez"]


def portfolio_csv(rows: int, seed: int = 3) -> str:
    rng = random.Random(seed)
    lines = [
        "id_cliente;nombre;documento;celular;telefono2;saldo;moneda;dias_mora;acreedor;obligacion;segmento"
    ]
    for i in range(rows):
        balance = rng.randrange(50, 9000) * 1000
        second = (
            f"60{rng.choice((1, 2, 4, 5, 6, 7))}{rng.randrange(2000000, 9999999)}"
            if i % 3 == 0
            else ""
        )
        lines.append(
            f"C{i:07d};{rng.choice(FIRST)} {rng.choice(LAST)} {rng.choice(LAST)};{rng.randrange(10**7, 10**9)};"
            f"{rng.choice(MOBILE)}{rng.randrange(1000000, 9999999)};{second};"
            f"{balance:,}".replace(",", ".")
            + f";COP;{rng.choice((15, 40, 75, 120, 200))};Banco Andino;T{i:07d};{rng.choice('ABC')}"
        )
    return "\n".join(lines) + "\n"


def _children_cpu() -> float:
    """CPU seconds of this process's finished children: the validating workers."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _server_cpu(data_dir: Path | None) -> float:
    """CPU seconds of a local PostgreSQL: the postmaster, its live and its finished children."""
    if data_dir is None:
        return 0.0
    postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        pid, parent = int(entry.name), int(fields[1])
        if pid == postmaster:
            total += sum(int(f) for f in fields[11:15]) / tick  # own and reaped children
        elif parent == postmaster:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def measure(url: str, text: str, rows: int, server_dir: Path | None = None) -> None:
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    for label in ("first import", "re-import (updates)"):
        load = os.getloadavg()[0]
        workers, server = _children_cpu(), _server_cpu(server_dir)
        started, cpu = time.perf_counter(), time.process_time()
        report = import_csv(sessions, text, default_region="CO")
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        workers, server = _children_cpu() - workers, _server_cpu(server_dir) - server
        assert report.imported == rows, report.errors[:3]
        print(
            f"  {label:20} {elapsed:5.1f} s wall {rows / elapsed:7,.0f} rows/s  CPU s: storing"
            f" {cpu:4.1f}, workers {workers:4.1f}"
            + (f", server {server:4.1f}" if server_dir else "")
            + f"  (load average {load:.1f} before, {os.getloadavg()[0]:.1f} after)"
        )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    text = portfolio_csv(args.rows)
    print(f"portfolio: {args.rows:,} rows, {len(text) / 1e6:.1f} MB")
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            print("SQLite:")
            measure(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", text, args.rows)
    if args.db == "sqlite":
        return
    server = start_postgres()
    try:
        print("PostgreSQL:")
        measure(server.url, text, args.rows, server.data_dir)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
