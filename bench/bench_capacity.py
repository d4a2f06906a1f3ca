"""Capacity at a lawful latency: concurrent calls per core with the bot answering in time.

    .venv/bin/python bench/bench_capacity.py [--steps 2,4,6,8,10,12] [--quick] [--processes P]
                                             [--carrier loopback|sip]

Two kinds of process, as in production, so the figure is the bot's alone:

* the debtors: one process serving simulated voice lines (``telephony.loopback_line``)
  in real time, 20 ms a frame, with pre-rendered espeak-ng Korean answers over seeded
  noise and a G.711 round trip. They time what they hear on their own clock: answer →
  first bot audio (the greeting), and end of their speech → first bot audio.
* the bot: ``voicebot worker``-shaped processes (``--processes``, default 1): the real
  ``Dialer`` claiming from a SQLite hopper, compliance before each dial, the
  ``CarrierCallRunner`` call loop, the Korean Vosk model (the model installed here; the
  default dialplan's keyword hints carry Korean answers) and the espeak-ng prompt cache
  with the static prompts prerendered at launch. They dial the debtors over loopback TCP.

Each step dials N debtors at once (the campaign paces starts at 2 a second) and waits
for every call to end. A step passes when the speech-turn p95 is at most 700 ms and the
greeting p95 at most 500 ms. The last line is
``CAPACITY calls_per_core=X p95_ms=Y greeting_p95_ms=Z calls=N cores=C`` for the highest
passing step (``calls=0`` when none passed).

The line carries audio in real time, so one step lasts as long as one call (~53 s), and
loading takes 1.5-2.5 minutes on a busy 2-core machine (one prewarmed recognizer per call a
process can take); the ramp stops at the first step over the limits (``--all-steps``: go on).
On a machine shared with other work, say so next to the figures: the debtors' process and the
other load take CPU from the bot, and the figures move with it.

``--carrier sip`` runs the same bot process with the real ``SipCarrier`` instead, dialling
baresip debtors through kamailio on the loopback SIP bed (``testbeds/sip.py``), as production
dials a trunk: steps 2,4,6,8 by default, about 17 s a call, and the CAPACITY line ends with
``carrier=sip``. The phones play fixed scripts and the latencies are read from their
recordings; what that measures, and its alignment error, is in ``capacity_sip.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import math
import os
import queue
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

import _repo  # noqa: F401
from capacity_sip import BedCarrier, SipDebtors

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    from sqlalchemy.orm import Session, sessionmaker

    from voicebot.dialog.plan import Dialplan
    from voicebot.engine.audio_port import AudioDialogPort
    from voicebot.engine.dialer import Dialer, DialerStats
    from voicebot.speech.tts_cache import TtsCache
    from voicebot.speech.vosk_asr import VoskSpeechModel
    from voicebot.telephony.carrier import Carrier

T = TypeVar("T")
LIMIT_TURN_MS = 700.0
LIMIT_GREETING_MS = 500.0
DEFAULT_STEPS = (2, 4, 6, 8, 10, 12)
QUICK_STEPS = (2, 6, 12)
SIP_STEPS = (2, 4, 6, 8)  # real phones and a proxy share the cores: a smaller ramp
SIP_QUICK_STEPS = (2, 6)
BOT_VOICE = ("es-419", 175)
BOGOTA = ZoneInfo("America/Bogota")
WORK_TIME = datetime(2026, 11, 24, 10, 0, tzinfo=BOGOTA)  # a Tuesday, inside the calling window
DOCUMENT_TAIL = "1234"  # what the debtors key when asked for their document's last digits
KOREAN_ANSWERS = ("네", "아니요")
DEBTOR_RATES = (140, 160, 180)


# --------------------------------------------------------------------------- pure parts


@dataclass(frozen=True, slots=True)
class CallHeard:
    """One call as its debtor lived it, in milliseconds of the debtor's line clock."""

    number: str
    greeting_ms: float | None  # answer → first bot audio; None: the bot never spoke
    turn_ms: tuple[float, ...]  # each end of the debtor's speech → the bot's next audio
    span: tuple[float, float] = (0.0, 0.0)  # wall clock (s) from answer to hangup


def heard_latencies(
    number: str,
    heard_starts_ms: Sequence[int],
    speech_ends_ms: Iterable[int],
) -> CallHeard:
    """Latencies from when bot audio started reaching the debtor and when it stopped talking.

    A speech turn the bot never answered (it hung up, or the debtor did) counts for nothing:
    the debtor was not waiting for it.
    """
    starts = sorted(heard_starts_ms)
    turns = []
    for end in speech_ends_ms:
        after = [s for s in starts if s >= end]
        if after:
            turns.append(float(after[0] - end))
    return CallHeard(number, float(starts[0]) if starts else None, tuple(turns))


def peak_concurrency(spans: Iterable[tuple[float, float]]) -> int:
    """Most calls up at once: a step claims N concurrent calls only if N were really up."""
    edges = sorted(edge for a, b in spans for edge in ((a, 1), (b, -1)))
    peak = live = 0
    for _, change in edges:  # at a tie the hangup (-1) sorts first: touching is not overlap
        live += change
        peak = max(peak, live)
    return peak


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0-100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class StepResult:
    calls: int
    processes: int
    answered: int  # calls whose debtor heard the bot at all
    turns: tuple[float, ...]
    greetings: tuple[float, ...]
    wall_s: float = 0.0
    bot_cpu_s: float = 0.0
    bot_rss_mb: tuple[float, ...] = ()  # peak resident memory of each bot process
    heard: tuple[CallHeard, ...] = ()
    bot_side: dict[str, float] = field(default_factory=dict)  # worst over the bot processes
    prompts: tuple[str, ...] = ()  # what the bot said in each call, prompt keys in order

    @property
    def p50_ms(self) -> float:
        return percentile(self.turns, 50)

    @property
    def p95_ms(self) -> float:
        return percentile(self.turns, 95)

    @property
    def greeting_p50_ms(self) -> float:
        return percentile(self.greetings, 50)

    @property
    def greeting_p95_ms(self) -> float:
        return percentile(self.greetings, 95)

    @property
    def peak(self) -> int:
        return peak_concurrency(h.span for h in self.heard)

    @property
    def passed(self) -> bool:
        """Both limits met, on calls that all reached the debtor and were all up at once
        (NaN never passes)."""
        return (
            self.answered == self.calls
            and self.peak >= self.calls
            and bool(self.turns)
            and self.p95_ms <= LIMIT_TURN_MS
            and self.greeting_p95_ms <= LIMIT_GREETING_MS
        )


def step_of(calls: int, processes: int, heard: Sequence[CallHeard], **extra: object) -> StepResult:
    greetings = tuple(h.greeting_ms for h in heard if h.greeting_ms is not None)
    turns = tuple(t for h in heard for t in h.turn_ms)
    return StepResult(
        calls,
        processes,
        len(greetings),
        turns,
        greetings,
        heard=tuple(heard),
        **extra,  # type: ignore[arg-type]
    )


def capacity_line(steps: Sequence[StepResult], cores: int) -> str:
    """The verdict: the highest step that met both limits."""
    passed = [s for s in steps if s.passed]
    if not passed:
        return f"CAPACITY calls_per_core=0 p95_ms=nan greeting_p95_ms=nan calls=0 cores={cores}"
    best = max(passed, key=lambda s: s.calls)
    return (
        f"CAPACITY calls_per_core={best.calls / cores:.1f} p95_ms={best.p95_ms:.0f} "
        f"greeting_p95_ms={best.greeting_p95_ms:.0f} calls={best.calls} cores={cores}"
    )


TABLE_HEADER = (
    "calls procs answered peak turns   p50 ms   p95 ms   max ms  greet p50  greet p95"
    "  bot CPU  bot RSS MB  verdict"
)


def table_row(step: StepResult) -> str:
    cpu = step.bot_cpu_s / step.wall_s if step.wall_s else math.nan
    rss = "+".join(f"{r:.0f}" for r in step.bot_rss_mb) or "-"
    worst = max(step.turns) if step.turns else math.nan
    return (
        f"{step.calls:5d} {step.processes:5d} {step.answered:8d} {step.peak:4d} {len(step.turns):5d} "
        f"{step.p50_ms:8.0f} {step.p95_ms:8.0f} {worst:8.0f} {step.greeting_p50_ms:10.0f} "
        f"{step.greeting_p95_ms:10.0f} {cpu:7.2f}c  {rss:>10}  {'ok' if step.passed else 'OVER'}"
    )


def parse_steps(text: str) -> tuple[int, ...]:
    try:
        steps = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        message = f"--steps: expected numbers like 2,4,6, got {text!r}"
        raise argparse.ArgumentTypeError(message) from None
    if not steps or any(n < 1 for n in steps):
        raise argparse.ArgumentTypeError(f"--steps: expected positive numbers, got {text!r}")
    return tuple(sorted(set(steps)))


def phone_of(i: int) -> str:
    return f"+57310{1_000_000 + i}"


def index_of(number: str) -> int | None:
    digits = number.removeprefix("+57310")
    return int(digits) - 1_000_000 if digits.isdigit() else None


def debtor_name(i: int) -> str:
    names = ("Carlos Pérez", "María López", "José Ramírez", "Ana Torres", "Luis Gómez")
    return f"{names[i % len(names)]} {i}"


def portfolio_csv(n: int, first: int = 0) -> str:
    """``n`` debtors from index ``first``: each step calls new people (names and balances no
    prompt cache has seen), as a campaign does."""
    lines = ["id_cliente;nombre;documento;celular;saldo;moneda;dias_mora;acreedor;zona_horaria"]
    for i in range(first, first + n):
        lines.append(
            f"D{i:04d};{debtor_name(i)};{70 + i}85{DOCUMENT_TAIL};{phone_of(i)[3:]};"
            f"{1_200_000 + 37_000 * i};COP;{30 + i};Banco Andino;America/Bogota"
        )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the debtors


def _debtors(ready: Path) -> None:
    """The debtors' process: serve real-time lines, print each finished call as a JSON line."""
    from voicebot.speech.tts_espeak import EspeakSynthesizer, VoiceSettings
    from voicebot.telephony.loopback_line import serve_debtors
    from voicebot.telephony.simulated import (
        DebtorScript,
        HangUp,
        LineConditions,
        Press,
        SimulatedLeg,
        Speak,
    )

    voices = [EspeakSynthesizer(VoiceSettings("ko", rate)) for rate in DEBTOR_RATES]
    audio = {(v, text): voices[v].synthesize(text) for v in range(3) for text in KOREAN_ANSWERS}

    def script_for(number: str) -> DebtorScript | None:
        i = index_of(number)
        if i is None:
            return None
        v = i % len(voices)
        yes, no = audio[v, "네"], audio[v, "아니요"]
        turns = (
            Speak(yes, delay_ms=300 + 50 * (i % 4)),
            Press(DOCUMENT_TAIL, delay_ms=500),
            Speak(yes if i % 2 else no, delay_ms=400),
            Speak(no, delay_ms=350),
            HangUp(delay_ms=600),
        )
        return DebtorScript(turns, line=LineConditions(noise_dbfs=-55.0 + (i % 3) * 5, seed=i))

    def done(number: str, leg: SimulatedLeg) -> None:
        ends = [
            t.ended_ms for t in leg.turns if isinstance(t.turn, Speak) and t.ended_ms is not None
        ]
        heard = heard_latencies(number, [h.start_ms for h in leg.heard], ends)
        ended = time.monotonic()  # the real-time line's time is wall time since the answer
        record = {
            "number": number,
            "greeting_ms": heard.greeting_ms,
            "turn_ms": heard.turn_ms,
            "span": (ended - leg.now_ms / 1000, ended),
        }
        print(json.dumps(record), flush=True)

    async def serve() -> None:
        server = await serve_debtors(script_for, done)
        ready.write_text(str(server.sockets[0].getsockname()[1]))
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


class Debtors:
    """The debtors' process seen from the bench: start it, collect what its calls heard."""

    def __init__(self, workdir: Path) -> None:
        ready = workdir / "debtors.port"
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--role", "debtors", "--ready", str(ready)],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.heard: queue.Queue[CallHeard] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + 120
        while not ready.exists() or not ready.read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the debtors' process did not start")
            time.sleep(0.05)
        self.port = int(ready.read_text())

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            data = json.loads(line)
            self.heard.put(
                CallHeard(
                    data["number"],
                    data["greeting_ms"],
                    tuple(data["turn_ms"]),
                    tuple(data["span"]),
                )
            )

    def collect(self, count: int, timeout_s: float = 60) -> list[CallHeard]:
        calls: list[CallHeard] = []
        deadline = time.monotonic() + timeout_s
        while len(calls) < count and time.monotonic() < deadline:
            try:
                calls.append(self.heard.get(timeout=0.5))
            except queue.Empty:
                continue
        return calls

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def bot_voice(cache_dir: Path) -> TtsCache:
    """The bot's prompt voice (the SIP debtors' scripts are timed with the same renders)."""
    from voicebot.speech.tts_cache import TtsCache
    from voicebot.speech.tts_espeak import EspeakSynthesizer, VoiceSettings

    return TtsCache(EspeakSynthesizer(VoiceSettings(*BOT_VOICE)), cache_dir)


def sip_debtors(workdir: Path, debtors: int) -> SipDebtors:
    """The SIP bed with its phones' scripts timed on the bot's own prompts: the longest
    greeting of the ramp's ``debtors`` and the bot's reply to a right-party "네" (the
    document question), rendered as the bot renders them (same voice, same texts)."""
    from voicebot.data import DEFAULT_DIALPLAN
    from voicebot.dialog.plan_loader import load_dialplan
    from voicebot.dialog.prompts import render_prompt
    from voicebot.domain.context import CallContext, Debtor
    from voicebot.domain.pcm import LINE_RATE
    from voicebot.speech.tts_espeak import EspeakSynthesizer, VoiceSettings

    plan = load_dialplan(DEFAULT_DIALPLAN)
    voice = bot_voice(workdir / "script-tts")

    def seconds(key: str, name: str) -> float:
        context = CallContext(Debtor(name), today=WORK_TIME.date())
        text = render_prompt(plan.prompts[key], context, {}, WORK_TIME)
        return len(voice.synthesize(text)) / LINE_RATE

    greeting_s = max(seconds("greeting", debtor_name(i)) for i in range(debtors))
    reply_s = seconds("verify_document", debtor_name(0))
    answers = [EspeakSynthesizer(VoiceSettings("ko", r)).synthesize("네") for r in DEBTOR_RATES]
    return SipDebtors(workdir, answers, greeting_s, reply_s)


# --------------------------------------------------------------------------- the bot


def _line(port: int | None, sip: str | None) -> Callable[[], AbstractAsyncContextManager[Carrier]]:
    """The bot's carrier for one campaign: the loopback line, or a ``SipCarrier`` registered
    on the bed (``sip``: JSON from ``SipDebtors.endpoint``) dialling its phones."""
    from voicebot.telephony.loopback_line import LoopbackCarrier
    from voicebot.telephony.sip import SipCarrier, SipSettings

    if sip is None:
        assert port is not None
        return lambda: contextlib.nullcontext(LoopbackCarrier("127.0.0.1", port))
    endpoint = json.loads(sip)
    settings = SipSettings(**endpoint["settings"])

    @contextlib.asynccontextmanager
    async def on_the_bed() -> AsyncIterator[Carrier]:
        async with SipCarrier(settings) as carrier:
            yield BedCarrier(carrier, endpoint["phones"])

    return on_the_bed


def _bot(port: int | None, sip: str | None, max_calls: int, cache_dir: Path) -> None:
    """One worker-shaped bot process: what ``voicebot worker`` builds, on the loopback line
    or on the SIP bed.

    It loads once and then runs one campaign per ``RUN db_url campaign_id calls`` line on
    stdin (a worker stays up between campaigns), answering each with a JSON line.
    """
    import numpy as np

    # The dialer and the call loop load here, before the ready line, as ``voicebot worker``
    # loads them at start: imported inside the first campaign instead, compliance's phone and
    # holiday data stalled that campaign's event loop for 1-3 s.
    import voicebot.engine.carrier_runner
    import voicebot.engine.dialer  # noqa: F401
    from voicebot.data import DEFAULT_DIALPLAN
    from voicebot.dialog.plan_loader import load_dialplan
    from voicebot.speech.model_files import resolve_model
    from voicebot.speech.vosk_asr import RecognizerSettings, VoskSpeechModel
    from voicebot.storage.db import make_engine, session_factory

    started = time.perf_counter()
    open_line = _line(port, sip)
    plan = load_dialplan(DEFAULT_DIALPLAN)
    voice = bot_voice(cache_dir)
    voice.check()
    voice.prerender(p.text for p in plan.static_prompts())
    model = VoskSpeechModel(
        resolve_model("ko", env={}), RecognizerSettings(pool_size=max(4, max_calls))
    )
    # As ``wiring.warmed_speech_model``: every recognizer decodes the bot's first prompts
    # (a short Korean phrase warmed the Korean model less: first-round p95 2.2 s vs 1.9 s).
    speech = [voice.synthesize(p.text) for p in plan.static_prompts()[:3]]
    model.prewarm(np.concatenate(speech), count=max_calls)
    ports: list[AudioDialogPort] = []
    print(json.dumps({"ready_s": time.perf_counter() - started}), flush=True)

    for line in sys.stdin:
        command = line.split()
        if not command or command[0] != "RUN":
            return
        db_url, campaign_id, calls = command[1], int(command[2]), int(command[3])
        wall_start = time.time()

        def clock(wall_start: float = wall_start) -> datetime:
            return (WORK_TIME + timedelta(seconds=time.time() - wall_start)).astimezone(UTC)

        engine = make_engine(db_url)
        dialer_for = functools.partial(
            _dialer,
            plan=plan,
            model=model,
            voice=voice,
            ports=ports,
            sessions=session_factory(engine),
            calls=calls,
            clock=clock,
        )
        cpu = time.process_time()
        ports.clear()
        lags: list[float] = []
        campaign = _campaign_on_line(open_line, dialer_for, campaign_id)
        stats, dials = asyncio.run(_watch_loop(campaign, lags))
        engine.dispose()
        report = {
            **_bot_side(ports),
            "loop_lag_p99_ms": percentile(lags, 99),
            "loop_lag_max_ms": max(lags, default=math.nan),
            "completed": stats.completed,
            "cpu_s": time.process_time() - cpu,
            "rss_mb": _rss_mb(),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "dials": dials,  # on the bed: (number, phone, wall time) of each answered call
            "prompts": [">".join(say.prompt for say in port.says) for port in ports],
        }
        print(json.dumps(report), flush=True)


def _dialer(
    carrier: Carrier,
    *,
    plan: Dialplan,
    model: VoskSpeechModel,
    voice: TtsCache,
    ports: list[AudioDialogPort],
    sessions: sessionmaker[Session],
    calls: int,
    clock: Callable[[], datetime],
) -> Dialer:
    """What ``voicebot worker`` runs: the dialer over a ``CarrierCallRunner`` on ``carrier``."""
    from voicebot.engine.carrier_runner import CarrierCallRunner
    from voicebot.engine.dialer import Dialer

    runner = CarrierCallRunner(plan, carrier, model, voice, observe_port=ports.append)
    return Dialer(
        sessions,
        runner,
        worker_id=f"bench-bot-{os.getpid()}",
        clock=clock,
        lease_seconds=60,
        max_concurrent=calls,
    )


async def _campaign_on_line(
    open_line: Callable[[], AbstractAsyncContextManager[Carrier]],
    dialer_for: Callable[[Carrier], Dialer],
    campaign_id: int,
) -> tuple[DialerStats, list[tuple[str, str, float]]]:
    """One campaign until nothing is due, on a line opened for it (a SIP carrier registers
    on this event loop); with the answered dials when the carrier logs them (the bed)."""
    async with open_line() as carrier:
        dialer = dialer_for(carrier)
        try:
            stats = await dialer.run(campaign_id=campaign_id, until_idle=True)
        finally:
            dialer.close()
        return stats, list(getattr(carrier, "dials", ()))


async def _watch_loop(work: Coroutine[Any, Any, T], lags: list[float]) -> T:
    """Run ``work`` while sampling how late a 20 ms timer fires: the event loop's stalls."""

    async def watch() -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.02)
            lags.append((time.perf_counter() - before - 0.02) * 1000)

    watcher = asyncio.create_task(watch())
    try:
        return await work
    finally:
        watcher.cancel()


def _bot_side(ports: Sequence[AudioDialogPort]) -> dict[str, float]:
    """The bot's own account of its speech turns: endpointing wait (line time) and the wall
    time from the end-of-speech decision to the answer's audio handed to the line."""
    waits: list[float] = []
    processing: list[float] = []
    recognition: list[float] = []
    for port in ports:
        for listen in port.listens:
            if listen.result != "Utterance" or listen.endpoint_wall is None:
                continue
            answer = [s.queued_wall for s in port.says if s.queued_wall >= listen.returned_at]
            if listen.endpoint_wait_ms is not None:
                waits.append(float(listen.endpoint_wait_ms))
            recognition.append(listen.recognition_s * 1000)
            if answer:
                processing.append((min(answer) - listen.endpoint_wall) * 1000)
    return {
        "endpoint_wait_p95_ms": percentile(waits, 95),
        "processing_p50_ms": percentile(processing, 50),
        "processing_p95_ms": percentile(processing, 95),
        "recognition_p95_ms": percentile(recognition, 95),
    }


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


class Bots:
    """The bot processes, loaded once for the whole ramp."""

    def __init__(
        self,
        processes: int,
        line_args: Callable[[int], list[str]],
        max_calls: int,
        cache_dir: Path,
    ) -> None:
        """``line_args(i)``: how bot process ``i`` reaches the debtors (``--port``/``--sip``)."""
        self.procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--role",
                    "bot",
                    *line_args(i),
                    "--calls",
                    str(max_calls),
                    "--cache",
                    str(cache_dir),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for i in range(processes)
        ]
        self.ready_s = max(self._reply(p)["ready_s"] for p in self.procs)

    @staticmethod
    def _reply(proc: subprocess.Popen[str]) -> dict[str, Any]:
        assert proc.stdout is not None
        while True:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"a bot process died (exit {proc.wait()})")
            if line.startswith("{"):
                reply: dict[str, Any] = json.loads(line)
                return reply
            print(f"bot: {line}", end="", file=sys.stderr)  # a library's stray print

    def run(self, db_url: str, campaign_id: int, calls_each: int) -> list[dict[str, Any]]:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write(f"RUN {db_url} {campaign_id} {calls_each}\n")
            proc.stdin.flush()
        return [self._reply(p) for p in self.procs]

    def stop(self) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.close()
        for proc in self.procs:
            proc.wait(timeout=30)


def _campaign(db_url: str, calls: int, first: int) -> int:
    from voicebot.campaigns.lifecycle import launch_campaign
    from voicebot.campaigns.portfolio import import_csv
    from voicebot.storage import models as m
    from voicebot.storage.db import make_engine, session_factory, upgrade

    upgrade(db_url)
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    with sessions.begin() as s:
        campaign = m.Campaign(
            name="capacidad",
            dialplan="cobranza_es",
            jurisdiction="CO",
            default_region="CO",
            max_concurrent=calls,
            calls_per_second=2.0,
        )
        s.add(campaign)
        s.flush()
        campaign_id = campaign.id
    import_csv(sessions, portfolio_csv(calls, first), default_region="CO", campaign_id=campaign_id)
    with sessions.begin() as s:
        launch_campaign(s, campaign_id=campaign_id, now=WORK_TIME, actor="bench")
    engine.dispose()
    return campaign_id


def run_step(
    calls: int,
    bots: Bots,
    debtors: Debtors | SipDebtors,
    workdir: Path,
    first: int,
    postgres: Any = None,
) -> StepResult:
    if postgres is not None:  # testbeds.postgres.PostgresServer
        db_url = postgres.create_database(f"step{calls}")
    else:
        db_url = f"sqlite:///{workdir / f'step{calls}.sqlite3'}"
    campaign_id = _campaign(db_url, calls, first)
    processes = len(bots.procs)
    started = time.perf_counter()
    reports = bots.run(db_url, campaign_id, math.ceil(calls / processes))
    wall = time.perf_counter() - started
    if isinstance(debtors, SipDebtors):
        dials = [(str(n), str(u), float(t)) for r in reports for n, u, t in r["dials"]]
        heard = [
            CallHeard(c.number, c.reading.greeting_ms, c.reading.turn_ms, c.span)
            for c in debtors.collect(dials)
        ]
    else:
        heard = debtors.collect(calls)
    return step_of(
        calls,
        processes,
        heard,
        wall_s=wall,
        bot_cpu_s=sum(r["cpu_s"] for r in reports),
        bot_rss_mb=tuple(r["rss_mb"] for r in reports),
        prompts=tuple(p for r in reports for p in r["prompts"]),
        bot_side={
            key: float(max(r[key] for r in reports)) for key in reports[0] if key.endswith("_ms")
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps",
        type=parse_steps,
        help=f"calls per step (default {DEFAULT_STEPS}; with --carrier sip {SIP_STEPS})",
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"steps {QUICK_STEPS} only ({SIP_QUICK_STEPS} on sip)"
    )
    parser.add_argument(
        "--carrier",
        choices=("loopback", "sip"),
        default="loopback",
        help="loopback: simulated lines in one debtors' process; sip: SipCarrier through "
        "kamailio to baresip debtors on the loopback SIP bed",
    )
    parser.add_argument("--processes", type=int, default=1, help="bot worker processes")
    parser.add_argument(
        "--all-steps", action="store_true", help="go on after a step over the limits"
    )
    parser.add_argument("--verbose", action="store_true", help="print every call's latencies")
    parser.add_argument(
        "--database",
        choices=("auto", "sqlite", "postgres"),
        default="auto",
        help="the hopper's database; auto: SQLite for one bot process, a throwaway PostgreSQL "
        "for several (as deployed: racing SQLite writers wait on its file lock)",
    )
    parser.add_argument("--role", choices=("bench", "debtors", "bot"), default="bench")
    parser.add_argument("--ready", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sip", help=argparse.SUPPRESS)
    parser.add_argument("--calls", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "debtors":
        _debtors(args.ready)
        return
    if args.role == "bot":
        _bot(args.port, args.sip, args.calls, args.cache)
        return
    if args.processes < 1:
        parser.error("--processes must be at least 1")
    sip = args.carrier == "sip"
    steps: tuple[int, ...]
    if args.quick:
        steps = SIP_QUICK_STEPS if sip else QUICK_STEPS
    else:
        steps = args.steps or (SIP_STEPS if sip else DEFAULT_STEPS)
    cores = os.cpu_count() or 1
    load = os.getloadavg()
    print(f"machine: {cores} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"limits: speech turn p95 <= {LIMIT_TURN_MS:.0f} ms, greeting p95 <= ", end="")
    print(f"{LIMIT_GREETING_MS:.0f} ms; bot processes: {args.processes}; carrier: {args.carrier}")
    results: list[StepResult] = []
    database = args.database
    if database == "auto":
        database = "postgres" if args.processes > 1 else "sqlite"
    print(f"hopper database: {database}")
    postgres = None
    if database == "postgres":
        from testbeds.postgres import start_postgres

        postgres = start_postgres()
    with tempfile.TemporaryDirectory(prefix="bench-capacity-") as tmp:
        workdir = Path(tmp)
        cache_dir = workdir / "tts-cache"
        debtors: Debtors | SipDebtors
        if sip:
            debtors = sip_debtors(workdir, sum(steps))
            print(debtors.describe())
            line_args = debtors.bot_args(args.processes)
        else:
            debtors = Debtors(workdir)
            port = debtors.port
            line_args = lambda i: ["--port", str(port)]  # noqa: E731
        try:
            bots = Bots(
                args.processes, line_args, math.ceil(max(steps) / args.processes), cache_dir
            )
        except BaseException:
            debtors.stop()
            raise
        print(f"bot processes ready in {bots.ready_s:.1f} s (model, prewarm, static prompts)")
        try:
            print(TABLE_HEADER)
            first = 0
            for calls in steps:
                step = run_step(calls, bots, debtors, workdir, first, postgres)
                first += calls
                results.append(step)
                print(table_row(step), flush=True)
                if isinstance(debtors, SipDebtors):
                    print(f"      {debtors.notes}", flush=True)
                if args.verbose:
                    print(f"      step {step.wall_s:.1f} s wall; bot side:", end="")
                    print(" ".join(f"{k} {v:.0f}" for k, v in step.bot_side.items()))
                    for said, count in Counter(step.prompts).most_common():
                        print(f"      bot said {said} in {count} calls")
                    for call in step.heard:
                        turns = " ".join(f"{t:.0f}" for t in call.turn_ms)
                        print(f"      {call.number}: greeting {call.greeting_ms} turns {turns}")
                if not step.passed and not args.all_steps:
                    break  # over the limits: the ramp is done
        finally:
            bots.stop()
            debtors.stop()
            if postgres is not None:
                postgres.stop()
    print(capacity_line(results, cores) + (" carrier=sip" if sip else ""))


if __name__ == "__main__":
    main()
