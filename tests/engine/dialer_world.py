"""A small world for dialer tests: a portfolio CSV, its debtors' scripted answers, a worker entry point.

Run as a script, it is one dialer worker process: ``python dialer_world.py URL CAMPAIGN_ID
WORKER_ID LOG_PATH CALL_DELAY SLOW_PHONE N [RACERS]``; each call appends "phone attempt start end"
(the machine's monotonic clock, shared by its processes) to LOG_PATH so the test can check no debtor was on two calls at once.

RACERS (comma-separated worker ids) is a barrier: each racer's calls hold their lines until
every racer has a call in progress, so "every racer claimed work" follows from the design, not
from how fast each process happened to start on a busy machine.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from voicebot.data import DEFAULT_DIALPLAN
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.domain.outcome import Disposition
from voicebot.engine.dialer import CallResult, Dialer, DialRequest
from voicebot.engine.text_runner import ScriptedTextRunner
from voicebot.storage.db import make_engine, session_factory
from voicebot.telephony.carrier import DialFailure

BOGOTA = ZoneInfo("America/Bogota")
# A Tuesday in a normal week, inside Colombia's calling window.
WORK_TIME = datetime(2026, 11, 24, 10, 0, tzinfo=BOGOTA)

PROMISE = ("sí, soy yo", "{digits}", "pago todo el viernes", "sí")
SCRIPTS = [
    PROMISE,
    ("número equivocado",),
    ("no me vuelvan a llamar",),
    ("sí, soy yo", "{digits}", "llámeme mañana en la tarde"),
    "NA",
    "BUSY",
    ("sí, soy yo", "{digits}", "esa deuda no es mía", "no la reconozco"),
]


def phone_of(i: int) -> str:
    return f"+57310{1000000 + i}"


def portfolio_csv(n: int) -> str:
    lines = ["id_cliente;nombre;documento;celular;saldo;moneda;dias_mora;acreedor;zona_horaria"]
    for i in range(n):
        lines.append(
            f"D{i:04d};Deudor Número {i};{10_000_000 + i};{phone_of(i)[3:]};{(i % 9 + 1) * 100000};COP;"
            f"{(i * 13) % 200};Banco Andino;America/Bogota"
        )
    return "\n".join(lines) + "\n"


def scripts(n: int) -> dict[str, tuple[str, ...] | DialFailure]:
    result: dict[str, tuple[str, ...] | DialFailure] = {}
    for i in range(n):
        script = SCRIPTS[i % len(SCRIPTS)]
        digits = str(10_000_000 + i)[-4:]
        if script == "NA":
            result[phone_of(i)] = DialFailure(Disposition.NA, 408, "no answer")
        elif script == "BUSY":
            result[phone_of(i)] = DialFailure(Disposition.BUSY, 486, "Busy Here")
        else:
            result[phone_of(i)] = tuple(t.replace("{digits}", digits) for t in script)
    return result


class LoggingRunner(ScriptedTextRunner):
    """Holds each call for a while (wall time) and logs when it held the line."""

    def __init__(
        self,
        n: int,
        log_path: Path,
        delay: float,
        slow_phone: str,
        clock: object,
        worker_id: str = "",
        racers: tuple[str, ...] = (),
    ) -> None:
        super().__init__(load_dialplan(DEFAULT_DIALPLAN), scripts(n), clock=clock)  # type: ignore[arg-type]
        self.log_path = log_path
        self.delay = delay
        self.slow_phone = slow_phone
        self.worker_id = worker_id
        self.racers = racers
        self.released = False

    def _marker(self, worker_id: str) -> Path:
        return self.log_path.with_name(f"{self.log_path.name}.{worker_id}.calling")

    async def _barrier(self) -> None:
        """Hold every call until every racer has one in progress (a minute at most)."""
        self._marker(self.worker_id).touch()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not self.released:
            self.released = all(self._marker(racer).exists() for racer in self.racers)
            await asyncio.sleep(0.02)

    async def run(self, request: DialRequest) -> CallResult:
        start = time.monotonic()  # one clock for every process on the machine
        if self.racers and not self.released:
            await self._barrier()
        await asyncio.sleep(600 if request.phone == self.slow_phone else self.delay)
        result = await super().run(request)
        with self.log_path.open("a") as log:
            log.write(f"{request.phone} {request.attempt_id} {start:.6f} {time.monotonic():.6f}\n")
        return result


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s {sys.argv[3]} %(name)s %(message)s"
    )
    url, campaign_id, worker_id, log_path, delay, slow_phone, n = sys.argv[1:8]
    racers = tuple(sys.argv[8].split(",")) if len(sys.argv) > 8 else ()
    started = time.monotonic()  # not time.time(): a wall clock stepped back would make
    # every attempt look not yet due, and an idle worker would stop before its first claim

    def clock() -> datetime:
        return (WORK_TIME + timedelta(seconds=time.monotonic() - started)).astimezone(UTC)

    engine = make_engine(url)
    runner = LoggingRunner(
        int(n), Path(log_path), float(delay), slow_phone, clock, worker_id, racers
    )
    dialer = Dialer(
        session_factory(engine),
        runner,
        worker_id=worker_id,
        clock=clock,
        lease_seconds=30,
        max_concurrent=4,
    )
    asyncio.run(watched(dialer, int(campaign_id)))
    engine.dispose()


async def watched(dialer: Dialer, campaign_id: int) -> None:
    """Run the worker; if it is still busy after 90 s, say what it is waiting for (stderr)."""

    async def watchdog() -> None:
        await asyncio.sleep(90)
        print(f"{dialer.worker_id} still running: {dialer.health()} {dialer.stats}", flush=True)
        for entry in dialer.journal.pending():
            print(f"  unsaved: {entry.kind} attempt {entry.attempt_id}", flush=True)
        for task in asyncio.all_tasks():
            task.print_stack(limit=3, file=sys.stderr)

    dog = asyncio.create_task(watchdog())
    try:
        stats = await dialer.run(campaign_id=campaign_id, until_idle=True)
    finally:
        dog.cancel()
    # What this worker did, in the test's captured output: a racer that never dialled says why
    # (nothing claimed, claims refused by a rule, races lost).
    print(f"{dialer.worker_id} idle: {stats} {dialer.health()}", flush=True)


if __name__ == "__main__":
    main()
