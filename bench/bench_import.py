"""Portfolio import throughput: a realistic 100,000-row CSV into SQLite and PostgreSQL.

Run: .venv/bin/python bench/bench_import.py [--rows 100000] [--db sqlite|postgresql|both]
Prints rows per second for the first import and for an idempotent re-import, with the
importer's own CPU seconds and the load average: on a shared machine the wall clock
measures the neighbors as much as the importer.
"""

from __future__ import annotations

import argparse
import os
import random
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


def measure(url: str, text: str, rows: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    for label in ("first import", "re-import (updates)"):
        started, cpu = time.perf_counter(), time.process_time()
        report = import_csv(sessions, text, default_region="CO")
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert report.imported == rows, report.errors[:3]
        print(
            f"  {label:22} {elapsed:6.1f} s wall {rows / elapsed:9,.0f} rows/s"
            f"   (importer CPU {cpu:5.1f} s; load average {os.getloadavg()[0]:.1f})"
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
        measure(server.url, text, args.rows)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
