"""Chaos run of the dialer: workers SIGKILLed at random, PostgreSQL restarted and stopped.

The long version of ``tests/engine/test_dialer_chaos.py`` (same harness,
``tests/engine/chaos_world.py``): a throwaway PostgreSQL on loopback, N synthetic
Colombian debtors, 3 workers on the simulated text line, a random worker SIGKILLed
and replaced every few seconds, ``pg_ctl restart -m fast``, later a stop of several
seconds; then the counts, checked from the database and the simulated carrier's own
log of dials.

    .venv/bin/python bench/chaos.py --minutes 4 --debtors 2000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "engine"))  # the harness lives beside its test
sys.path.insert(0, str(ROOT))  # testbeds/ is not installed

from chaos_world import Chaos, check, run, summary  # noqa: E402

from testbeds.postgres import start_postgres  # noqa: E402
from voicebot.storage.db import upgrade  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--debtors", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--lease", type=float, default=4.0, help="heartbeat lease, seconds")
    parser.add_argument("--outage", type=float, default=10.0, help="database stop, seconds")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    duration = args.minutes * 60
    chaos = Chaos(
        duration_s=duration,
        workers=args.workers,
        lease_s=args.lease,
        debtors=args.debtors,
        kill_every_s=(4.0, 6.0),
        restart_at_s=duration * 0.25,
        outage_at_s=duration * 0.6,
        outage_s=args.outage,
    )
    server = start_postgres()
    try:
        url = server.create_database("chaos")
        upgrade(url)
        with tempfile.TemporaryDirectory(prefix="voicebot-chaos-") as tmp:
            started = time.monotonic()
            sessions = run(server, url, Path(tmp), chaos, seed=args.seed)
            found = check(sessions, Path(tmp) / "carrier.log", chaos)
            elapsed = time.monotonic() - started
    finally:
        server.stop()
    print(f"chaos run: {elapsed:.0f} s (measured on a shared, loaded machine)")
    for part in summary(chaos, found).split(", "):
        print(f"  {part}")
    bad = (
        found.redialled_attempts
        or found.overlapping
        or found.dialled_after_opt_out
        or found.lost_outcomes
        or found.opt_outs_missing
        or found.over_cap
        or chaos.dead_slot_samples
        or chaos.crashed
    )
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
