"""Worker processes under one supervisor: they share the hopper, never dial a debtor twice at
once, stop together and report the worst exit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voicebot.engine.worker_processes import ChildSpec, supervise
from voicebot.storage import models as m

HERE = Path(__file__).resolve().parent
N = 14


def _setup(sessions: sessionmaker[Session]) -> int:
    from test_dialer_workers import setup_campaign

    return setup_campaign(sessions, N)


def test_n_processes_share_the_hopper_and_never_dial_one_debtor_twice(
    db_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    campaign_id = _setup(sessions)
    log = tmp_path / "calls.log"
    racers = ("p1", "p2")  # each one's calls wait until both have one in progress (the
    # campaign allows 8 at once, 4 per worker: a third racer could never get a line)
    children = [
        ChildSpec(
            (
                sys.executable,
                str(HERE / "dialer_world.py"),
                db_url,
                str(campaign_id),
                name,
                str(log),
                "0.1",
                "-",
                str(N),
                ",".join(racers),
            ),
            {"PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])},
        )
        for name in racers
    ]
    assert supervise(children) == 0
    spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
    attempts = []
    for line in log.read_text().splitlines():
        phone, attempt_id, start, end = line.split()
        spans[phone].append((float(start), float(end)))
        attempts.append(int(attempt_id))
    assert len(attempts) == len(set(attempts))  # no attempt dialed twice
    for phone, calls in spans.items():
        calls.sort()
        for (_, ended), (began, _) in pairwise(calls):
            assert began >= ended, f"{phone} was on two calls at once"
    with sessions() as s:
        dialers = set(
            s.scalars(select(m.AuditEntry.actor).where(m.AuditEntry.action == "dial_allowed"))
        )
        dialing = s.scalars(select(m.CallAttempt.id).where(m.CallAttempt.status == "dialing")).all()
    assert dialers == set(racers)  # every process worked (the barrier makes each one claim)
    assert dialing == []  # every dial the service started ended with a result


CHILD = """
import signal, sys, time
from pathlib import Path
code = int(sys.argv[2])
if code < 0:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(-code))
    Path(sys.argv[1]).touch()
    while True:
        time.sleep(1)
Path(sys.argv[1]).touch()
sys.exit(code)
"""

SUPERVISOR = """
import sys
from voicebot.engine.worker_processes import ChildSpec, supervise
codes = [int(c) for c in sys.argv[2].split(",")]
children = [
    ChildSpec((sys.executable, "-c", sys.argv[1], f"{sys.argv[3]}.{i}", str(c)), {})
    for i, c in enumerate(codes)
]
sys.exit(supervise(children))
"""


def _supervisor(tmp_path: Path, codes: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR, CHILD, codes, str(tmp_path / "ready")]
    )


def test_the_worst_exit_status_is_the_services(tmp_path: Path) -> None:
    assert _supervisor(tmp_path, "0,3,0").wait(timeout=60) == 3
    assert _supervisor(tmp_path, "0,0").wait(timeout=60) == 0


def test_stopping_the_service_stops_every_worker(tmp_path: Path) -> None:
    # Children that run until SIGTERM, then exit 5 and 6: the stop reached both.
    supervisor = _supervisor(tmp_path, "-5,-6")
    markers = [tmp_path / "ready.0", tmp_path / "ready.1"]
    deadline = time.monotonic() + 60
    while not all(p.exists() for p in markers):  # both children have their handler in place
        assert time.monotonic() < deadline and supervisor.poll() is None
        time.sleep(0.02)
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=60) == 6
