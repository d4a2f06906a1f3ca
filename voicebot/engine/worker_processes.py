"""Several dialer worker processes on one machine, supervised as one service.

Why processes: a worker's event loop, VAD and endpointing are Python and share one GIL,
and the bot's voice (espeak-ng through pyttsx3) renders one prompt at a time per process.
N processes on the shared hopper use N cores; the hopper's claims already keep racing
workers from dialing one debtor twice (``engine.hopper``), whichever process they are in.

The supervisor only starts, signals and waits: a child that dies leaves its calls to the
lease reaper and its journal to the next worker on the machine, as any crashed worker does.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import FrameType


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """One worker process: its command line and the environment variables it adds."""

    argv: tuple[str, ...]
    env: Mapping[str, str]


def default_processes() -> int:
    """One worker process per core."""
    return os.cpu_count() or 1


def supervise(children: Sequence[ChildSpec], *, stop_timeout_s: float = 60.0) -> int:
    """Run every child to its end; the worst exit status is the service's.

    SIGINT and SIGTERM are passed on to every child (each one stops claiming, finishes or
    journals its calls and exits), so stopping the service stops all of its workers.
    """
    procs = [subprocess.Popen(c.argv, env={**os.environ, **c.env}) for c in children]

    def forward(signum: int, frame: FrameType | None) -> None:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        codes = [proc.wait() for proc in procs]
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for proc in procs:
            if proc.poll() is None:  # only if waiting was interrupted by an exception
                proc.terminate()
                try:
                    proc.wait(timeout=stop_timeout_s)
                except subprocess.TimeoutExpired:
                    proc.kill()
    return max(codes, key=lambda code: (code != 0, abs(code))) if codes else 0
