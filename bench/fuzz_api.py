"""The long schemathesis run: every operation, every role and anonymous, many examples.

    .venv/bin/python bench/fuzz_api.py [--examples 200] [--database-url postgresql+psycopg://…]

Prints operations, requests sent and every failure (server errors, schema violations).
The suite runs the same fuzzer with a handful of examples (tests/api/test_api_fuzz.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "api"))

from api_world import open_world, populate  # noqa: E402

from api.fuzzing import fuzz_operations  # noqa: E402
from voicebot.storage.db import upgrade  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=200, help="examples per operation")
    parser.add_argument(
        "--database-url", default="", help="an empty database (default: a fresh SQLite file)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'fuzz.sqlite3'}"
        upgrade(url)
        for world in open_world(url):
            populate(world)
            world.client.app.state.key_throttle.per_minute = 0
            keys = {r: world.keys[r] for r in ("admin", "manager", "auditor", "agent")}
            started = time.perf_counter()
            report = fuzz_operations(world.client.app, keys, max_examples=args.examples, seed=None)
            elapsed = time.perf_counter() - started
    print(report.summary())
    print(f"{report.requests / elapsed:.0f} requests/s over {elapsed:.1f} s")
    return 1 if report.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
