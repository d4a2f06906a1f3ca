"""Chaos: ≥ 3 workers on PostgreSQL, random SIGKILLs, a database restart and a 6 s outage.

The short version of ``bench/chaos.py``: checked from the database and from the
simulated carrier's own log of dials, never from what the workers say about themselves.
"""

from __future__ import annotations

from pathlib import Path

from chaos_world import Chaos, check, run, summary

from testbeds.postgres import PostgresServer
from voicebot.storage.db import upgrade


def test_workers_survive_kills_restarts_and_an_outage_without_harm(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    url = postgres.create_database("chaos")
    upgrade(url)
    chaos = Chaos(duration_s=36.0, debtors=130, restart_at_s=8.0, outage_at_s=16.0, outage_s=6.0)
    sessions = run(postgres, url, tmp_path, chaos)
    found = check(sessions, tmp_path / "carrier.log", chaos)
    report = summary(chaos, found)
    # The damage really happened and the work really got done.
    assert len(chaos.kills) >= 5 and found.dials >= 60, report
    print(report)
    assert not chaos.crashed, (report, chaos.crashed)  # the outage killed nobody
    # The invariants of issue 10.
    assert not found.redialled_attempts, (report, found.redialled_attempts[:3])
    assert not found.overlapping, (report, found.overlapping[:3])
    assert not found.dialled_after_opt_out, (report, found.dialled_after_opt_out[:3])
    assert not found.lost_outcomes, (report, found.lost_outcomes[:3])
    assert not found.opt_outs_missing, (report, found.opt_outs_missing[:3])
    assert not found.over_cap, (report, found.over_cap[:3])
    assert not chaos.dead_slot_samples, (report, chaos.dead_slot_samples[:3])
    # Only a call cut by a SIGKILL may have no known result, and it counts as a contact.
    assert found.unknown_results <= found.lost_dials + len(chaos.kills) * 4, report
