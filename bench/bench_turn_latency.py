"""Turn latency on the simulated voice line: end of debtor speech → first byte of bot audio.

    .venv/bin/python bench/bench_turn_latency.py [--calls 20] [--trailing-ms 300] [--seed 1]

Each call runs the default dialplan (``dialplans/cobranza_es.yaml``) through the
audio dialog port with the real Korean Vosk model (the model installed here; the
dialplan's keyword hints carry Korean answers) and the bot's pyttsx3/espeak-ng
voice behind a fresh disk cache (static prompts pre-rendered at "launch",
prompts with the debtor's name and amounts rendered on demand, as in production).
The debtor answers in espeak-ng Korean at varying speeds and pitches, over seeded
line noise and a G.711 μ-law round trip, and keys its document digits.

The line runs faster than real time, so wall-clock work does not move line
time. A turn's latency is therefore measured in two parts and added:
  endpoint wait  line time from the true end of the debtor's audio (known to the
                 simulated line) to the end-of-speech decision: the trailing-silence
                 setting plus or minus the VAD's slack;
  processing     wall time from that decision to the next prompt's audio handed to
                 the line: final recognition + dialog step + TTS/cache + overhead.
Greeting latency is wall time from the call's start (answer) to the greeting's audio.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from voicebot.actions import EndCall, Listen, Say, Transfer
from voicebot.audio.endpoint import EndpointSettings
from voicebot.data import DEFAULT_DIALPLAN
from voicebot.dialog.machine import start, step
from voicebot.dialog.plan import Dialplan
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.domain.context import CallContext, Debt, Debtor, NegotiationLimits
from voicebot.engine.audio_port import AudioDialogPort, PortSettings
from voicebot.events import Dtmf, Event, Hangup, Utterance
from voicebot.speech.model_files import resolve_model
from voicebot.speech.tts_cache import TtsCache
from voicebot.speech.tts_espeak import EspeakSynthesizer, VoiceSettings
from voicebot.speech.vosk_asr import VoskSpeechModel
from voicebot.telephony.simulated import (
    DebtorScript,
    HangUp,
    LineConditions,
    Press,
    SimulatedCarrier,
    SimulatedLeg,
    Speak,
)

NAMES = [
    "Carlos Andrés Pérez Gómez",
    "María Fernanda López",
    "José Luis Ramírez",
    "Ana Sofía Torres",
]


@dataclass
class TurnFigures:
    kind: str  # "speech" or "dtmf"
    endpoint_wait_s: float
    recognition_s: float
    step_s: float
    tts_s: float
    processing_s: float
    tts_hit: bool

    @property
    def total_s(self) -> float:
        return self.endpoint_wait_s + self.processing_s


@dataclass
class Figures:
    turns: list[TurnFigures] = field(default_factory=list)
    greetings: list[float] = field(default_factory=list)
    greeting_tts: list[float] = field(default_factory=list)


def _context(i: int) -> CallContext:
    return CallContext(
        debtor=Debtor(
            full_name=NAMES[i % len(NAMES)],
            document_id="79.851.234",
            timezone="America/Bogota",
            debts=(
                Debt(
                    creditor="Banco Andino",
                    amount=Decimal(1_200_000 + 37_000 * i),
                    currency="COP",
                    days_past_due=30 + i,
                    product="tarjeta de crédito",
                ),
            ),
            gender="m",
        ),
        today=date(2026, 11, 23),
        company="Gestión Integral de Cartera",
        callback_number="6015550100",
        limits=NegotiationLimits(
            min_payment=Decimal(400_000),
            max_days_ahead=20,
            max_instalments=6,
            min_instalment=Decimal(100_000),
        ),
    )


def _script(
    i: int, debtor_voices: list[EspeakSynthesizer]
) -> tuple[DebtorScript, EspeakSynthesizer]:
    turns = (
        Speak(text="네", delay_ms=300 + 50 * (i % 4)),
        Press("1234", delay_ms=500),
        Speak(text="네" if i % 2 else "아니요", delay_ms=400),
        Speak(text="아니요", delay_ms=350),
        HangUp(delay_ms=600),
    )
    line = LineConditions(noise_dbfs=-55.0 + (i % 3) * 5, seed=i)
    return DebtorScript(turns, line=line), debtor_voices[i % len(debtor_voices)]


async def _one_call(
    i: int,
    plan: Dialplan,
    model: VoskSpeechModel,
    bot: TtsCache,
    voices: list[EspeakSynthesizer],
    settings: PortSettings,
    figures: Figures,
    *,
    realtime: bool = False,
) -> SimulatedLeg:
    script, voice = _script(i, voices)
    carrier = SimulatedCarrier({"1": script}, debtor_voice=voice, realtime=realtime)
    leg = await carrier.dial("1")
    assert isinstance(leg, SimulatedLeg)
    recognizer = model.new_call()
    port = AudioDialogPort(leg, recognizer, bot, clock=leg.clock, settings=settings)
    answered = time.perf_counter()
    state, actions = start(plan, _context(i), leg.clock())
    first_say = True
    pending: tuple[Event, float] | None = None  # the event being answered, and its dialog step time
    try:
        while True:
            event: Event | None = None
            for action in actions:
                if isinstance(action, Say):
                    hits_before = bot.stats.hits
                    await port.say(action)
                    said = port.says[-1]
                    if first_say:
                        figures.greetings.append(said.queued_wall - answered)
                        figures.greeting_tts.append(said.synth_s)
                        first_say = False
                    if pending is not None:
                        _record(
                            figures,
                            port,
                            leg,
                            pending,
                            said.synth_s,
                            said.queued_wall,
                            bot.stats.hits > hits_before,
                        )
                        pending = None
                elif isinstance(action, Listen):
                    event = await port.listen(action)
                    break
                elif isinstance(action, Transfer):
                    event = await port.transfer(action)
                    break
                elif isinstance(action, EndCall):
                    await port.hangup()
                    return leg
            if event is None:
                return leg
            started = time.perf_counter()
            state, actions = step(plan, state, event)
            step_s = time.perf_counter() - started
            if isinstance(event, Hangup):
                return leg
            pending = (event, step_s) if isinstance(event, Utterance | Dtmf) else None
    finally:
        recognizer.close()


def _record(
    figures: Figures,
    port: AudioDialogPort,
    leg: SimulatedLeg,
    pending: tuple[Event, float],
    tts_s: float,
    queued: float,
    hit: bool,
) -> None:
    event, step_s = pending
    listen = port.listens[-1]
    if listen.endpoint_wall is None:
        return
    if isinstance(event, Utterance):
        # From the true end of the debtor's audio (the simulated line knows it), not
        # from the last frame the VAD called voiced: VAD slack counts against us.
        spoken = [t for t in leg.turns if isinstance(t.turn, Speak) and t.ended_ms is not None]
        assert listen.endpoint_at_ms is not None and spoken
        wait = (listen.endpoint_at_ms - max(t.ended_ms or 0 for t in spoken)) / 1000
        kind = "speech"
    else:
        wait, kind = 0.0, "dtmf"  # the last key is the end of input
    figures.turns.append(
        TurnFigures(
            kind, wait, listen.recognition_s, step_s, tts_s, queued - listen.endpoint_wall, hit
        )
    )


def _realtime(
    calls: int,
    plan: Dialplan,
    model: VoskSpeechModel,
    bot: TtsCache,
    voices: list[EspeakSynthesizer],
    settings: PortSettings,
) -> None:
    """End to end on the wall-clock line: the debtor's own record of when it stopped
    talking and when the bot's next prompt started playing to it."""

    async def together() -> list[SimulatedLeg]:
        runs = [
            _one_call(100 + i, plan, model, bot, voices, settings, Figures(), realtime=True)
            for i in range(calls)
        ]
        return list(await asyncio.gather(*runs))

    started = time.perf_counter()
    legs = asyncio.run(together())
    turns: list[float] = []
    greetings: list[float] = []
    for leg in legs:
        greetings.append(leg.heard[0].start_ms / 1000)
        for turn in leg.turns:
            if isinstance(turn.turn, Speak) and turn.ended_ms is not None:
                after = [h.start_ms for h in leg.heard if h.start_ms >= turn.ended_ms]
                if after:
                    turns.append((min(after) - turn.ended_ms) / 1000)
    wall = time.perf_counter() - started
    print(
        f"\nreal-time line, {calls} concurrent calls ({wall:.1f} s wall), end to end as the debtor heard it:"
    )
    print(_row("speech end → bot audio", turns))
    print(_row("answer → greeting audio", greetings))
    print("  (line time ticks every 20 ms: figures are quantised to 20 ms)")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def _row(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"  {name:<26} p50 {_pct(ms, 50):7.1f} ms   p95 {_pct(ms, 95):7.1f} ms   max {max(ms):7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument(
        "--realtime-calls",
        type=int,
        default=0,
        help="also run this many calls at once on the real-time line, measured end to end",
    )
    parser.add_argument("--trailing-ms", type=int, default=300, help="endpointing trailing silence")
    args = parser.parse_args()

    plan = load_dialplan(DEFAULT_DIALPLAN)
    t = time.perf_counter()
    model = VoskSpeechModel(resolve_model("ko", env={}))
    print(f"model load: {time.perf_counter() - t:.1f} s")
    voices = [EspeakSynthesizer(VoiceSettings("ko", r)) for r in (140, 160, 180)]
    # Start-up as in production: warm one free recognizer per concurrent call, so
    # the first free-vocabulary turns after a deploy do not pay Vosk's cold decode.
    t = time.perf_counter()
    model.prewarm(
        voices[1].synthesize("오늘 날씨가 좋네요 안녕하세요 고맙습니다"),
        max(2, args.realtime_calls),
    )
    print(f"recognizer prewarm: {time.perf_counter() - t:.1f} s")
    settings = PortSettings(endpoint=EndpointSettings(trailing_silence_ms=args.trailing_ms))
    with tempfile.TemporaryDirectory(prefix="bench-tts-") as cache_dir:
        bot = TtsCache(EspeakSynthesizer(VoiceSettings("es-419", 175)), Path(cache_dir))
        bot.check()
        report = bot.prerender(p.text for p in plan.static_prompts())
        print(
            f"launch: prerendered {report.rendered} static prompts in {report.seconds * 1000:.0f} ms"
        )
        figures = Figures()
        t = time.perf_counter()
        for i in range(args.calls):
            asyncio.run(_one_call(i, plan, model, bot, voices, settings, figures))
        print(f"{args.calls} calls in {time.perf_counter() - t:.1f} s wall (faster than real time)")
        if args.realtime_calls:
            _realtime(args.realtime_calls, plan, model, bot, voices, settings)
        speech = [f for f in figures.turns if f.kind == "speech"]
        dtmf = [f for f in figures.turns if f.kind == "dtmf"]
        print(f"\nspeech turns: {len(speech)} (trailing silence {args.trailing_ms} ms)")
        print(_row("turn latency (total)", [f.total_s for f in speech]))
        print(_row("  endpointing wait", [f.endpoint_wait_s for f in speech]))
        print(_row("  processing", [f.processing_s for f in speech]))
        print(_row("    final recognition", [f.recognition_s for f in speech]))
        print(_row("    dialog step", [f.step_s for f in speech]))
        print(_row("    TTS/cache", [f.tts_s for f in speech]))
        hits = [f.tts_s for f in speech if f.tts_hit]
        misses = [f.tts_s for f in speech if not f.tts_hit]
        if hits:
            print(_row("    TTS when cached", hits))
        if misses:
            print(_row("    TTS when rendered", misses))
        if dtmf:
            print(f"\nDTMF turns: {len(dtmf)}")
            print(_row("last key → bot audio", [f.total_s for f in dtmf]))
        print(f"\ngreetings: {len(figures.greetings)}")
        print(_row("answer → greeting audio", figures.greetings))
        print(_row("  greeting TTS/cache", figures.greeting_tts))
        stats = bot.stats
        print(f"\nTTS cache: {stats.hits} hits, {stats.misses} renders")
        if stats.hit_seconds:
            print(_row("cache hit", stats.hit_seconds))
        if stats.render_seconds:
            print(_row("render (miss)", stats.render_seconds))


if __name__ == "__main__":
    main()
