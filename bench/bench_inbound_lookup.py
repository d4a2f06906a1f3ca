"""How long a caller waits while the bot finds them by the document they typed.

A SQLite portfolio of N debtors (``--debtors``, default 200 000), documents punctuated as
imports leave them; each lookup is ``StoredDirectory.by_document`` (the inbound dialog's
query, on the indexed expression). Prints the median and p95 per lookup, and the same
with the index dropped, for comparison. A few seconds to set up; the figures depend on
the machine (state them as measured on a shared, loaded one).

    .venv/bin/python bench/bench_inbound_lookup.py [--debtors N] [--lookups K]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import text

from voicebot.storage import models as m
from voicebot.storage.bulk import bulk_insert
from voicebot.storage.db import make_engine, session_factory, upgrade
from voicebot.storage.inbound import StoredDirectory


def document(i: int) -> str:
    return (f"{i:,}".replace(",", "."), f"{i}-7", f"1 {i}")[i % 3]


def digits(i: int) -> str:
    return "".join(ch for ch in document(i) if ch.isdigit())


def timed(directory: StoredDirectory, picks: list[int]) -> list[float]:
    times = []
    for i in picks:
        start = time.perf_counter()
        directory.by_document(digits(i))  # no campaign holds them: found, then no context
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debtors", type=int, default=200_000)
    parser.add_argument("--lookups", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        upgrade(url)
        engine = make_engine(url)
        sessions = session_factory(engine)
        now = datetime.now(UTC)
        rows = [
            {
                "external_id": f"x{i}",
                "full_name": f"Deudor {i}",
                "document_id": document(i),
                "created_at": now,
                "updated_at": now,
            }
            for i in range(1, args.debtors + 1)
        ]
        with sessions.begin() as s:
            bulk_insert(s, table=m.Debtor.__table__, rows=rows)  # type: ignore[arg-type]
            s.execute(text("ANALYZE"))
        directory = StoredDirectory(sessions, today=date.today())
        picks = [random.randint(1, args.debtors) for _ in range(args.lookups)]
        indexed = timed(directory, picks)
        with engine.begin() as conn:
            conn.execute(text("DROP INDEX ix_debtors_document_digits"))
        scanned = timed(directory, picks[: max(5, args.lookups // 20)])
        engine.dispose()
    for name, times in (("indexed", indexed), ("without the index", scanned)):
        ordered = sorted(times)
        p95 = ordered[int(len(ordered) * 0.95) - 1]
        print(
            f"{args.debtors} debtors, {name}: median {statistics.median(ordered):.2f} ms, "
            f"p95 {p95:.2f} ms per lookup ({len(ordered)} lookups)"
        )


if __name__ == "__main__":
    main()
