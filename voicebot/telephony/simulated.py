"""The simulated voice line: an in-process carrier whose debtor answers with real audio.

A first-class ``Carrier``, not a test hack: the debtor's turns are WAV
recordings or text spoken by espeak-ng in another voice than the bot's, mixed
with seeded line noise and sent through a G.711 μ-law round trip like a real
trunk. The line is its own clock: every ``receive()`` is 20 ms of line time in
which one frame of the bot's queued audio is played to the debtor and one frame
of the debtor's audio comes back. Faster than real time by default (tests never
wait), or paced to the wall clock with ``realtime=True``.

The scripted debtor waits for the bot's prompt to end (plus a reaction delay)
before taking its next turn, or barges in a set time after the prompt starts.
It records what it heard, so tests can assert the bot's audio reached the line
and when the bot stopped talking over it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import numpy as np

from voicebot.audio.codec import pcm_to_ulaw, ulaw_to_pcm
from voicebot.audio.wav import read_wav
from voicebot.domain.outcome import Disposition
from voicebot.domain.pcm import FRAME_SAMPLES, LINE_RATE, Pcm
from voicebot.telephony.carrier import (
    AudioIn,
    DialFailure,
    DigitIn,
    FarEndHangup,
    HoldChanged,
    LineInput,
)

FRAME_MS = 1000 * FRAME_SAMPLES // LINE_RATE
_SILENCE = np.zeros(FRAME_SAMPLES, np.int16)


class DebtorVoice(Protocol):
    """Renders a debtor's text turn as line audio.

    Declared here, not imported from ``speech``, so the line stays below the speech layer;
    any ``speech.synthesizer.Synthesizer`` fits it.
    """

    def synthesize(self, text: str) -> Pcm:
        """8 kHz mono int16 audio for ``text``."""
        ...


@dataclass(frozen=True, slots=True)
class Speak:
    """The debtor says something: 8 kHz audio, or text rendered by the carrier's debtor voice."""

    audio: Pcm | None = None
    text: str | None = None
    delay_ms: int = 300  # reaction time after the bot's prompt ends
    barge_in_after_ms: int | None = None  # speak this long after the prompt starts instead

    def __post_init__(self) -> None:
        if (self.audio is None) == (self.text is None):
            raise ValueError("Speak needs exactly one of audio or text")

    @classmethod
    def wav(
        cls, path: str | Path, *, delay_ms: int = 300, barge_in_after_ms: int | None = None
    ) -> Speak:
        """A recording in any common WAV encoding, converted to line audio."""
        return cls(read_wav(path, LINE_RATE), None, delay_ms, barge_in_after_ms)


@dataclass(frozen=True, slots=True)
class Press:
    """The debtor keys DTMF digits, ``gap_ms`` apart."""

    digits: str
    delay_ms: int = 500
    barge_in_after_ms: int | None = None
    gap_ms: int = 200

    def __post_init__(self) -> None:
        if not self.digits or any(d not in "0123456789*#" for d in self.digits):
            raise ValueError(f"not DTMF digits: {self.digits!r}")


@dataclass(frozen=True, slots=True)
class Silent:
    """The debtor lets a prompt go by without answering."""

    delay_ms: int = 0
    barge_in_after_ms: int | None = None


@dataclass(frozen=True, slots=True)
class HangUp:
    delay_ms: int = 200
    barge_in_after_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Hold:
    """The debtor puts the call on hold for ``duration_ms`` (the bot's audio pauses meanwhile)."""

    duration_ms: int
    delay_ms: int = 0
    barge_in_after_ms: int | None = None


DebtorTurn = Speak | Press | Silent | HangUp | Hold


@dataclass(frozen=True, slots=True)
class LineConditions:
    noise_dbfs: float | None = None  # white noise level on the debtor's side
    seed: int = 0
    g711: bool = True  # μ-law round trip both ways, as on a real trunk


@dataclass(frozen=True, slots=True)
class DebtorScript:
    turns: tuple[DebtorTurn, ...] = ()
    failure: DialFailure | None = None  # the call is not answered (NA, BUSY, FAIL)
    line: LineConditions = field(default_factory=LineConditions)
    max_call_ms: int = 600_000  # the line drops after this much line time (runaway guard)


@dataclass(slots=True)
class HeardPrompt:
    """One stretch of bot audio as the debtor heard it."""

    start_ms: int
    end_ms: int
    audio: list[Pcm] = field(default_factory=list)
    cut: bool = False  # playback was cleared (barge-in) before it ended

    @property
    def pcm(self) -> Pcm:
        return np.concatenate(self.audio) if self.audio else _SILENCE[:0]


@dataclass(slots=True)
class TurnLog:
    """When the debtor acted on a turn (line time, ms since answer)."""

    turn: DebtorTurn
    started_ms: int
    ended_ms: int | None = None


class SimulatedLeg:
    """A ``CallLeg`` driven by a ``DebtorScript``."""

    def __init__(
        self,
        call_id: str,
        script: DebtorScript,
        rendered: list[Pcm | None],
        *,
        answered_at: datetime,
        realtime: bool,
    ) -> None:
        self._call_id = call_id
        self.script = script
        self._rendered = rendered
        self.answered_at = answered_at
        self.realtime = realtime
        self.now_ms = 0
        self.heard: list[HeardPrompt] = []
        self.turns: list[TurnLog] = []
        self.bot_hung_up_ms: int | None = None
        self.debtor_hung_up_ms: int | None = None
        self.clears_ms: list[int] = []
        self._playback: deque[Pcm] = deque()
        self._next_turn = 0
        self._speaking: Pcm | None = None
        self._spoken = 0
        self._digits: deque[tuple[int, str]] = deque()
        self._hold_events: deque[tuple[int, HoldChanged]] = deque()
        self._held_until_ms: int | None = None
        self._prompt_started_ms: int | None = None
        self._last_bot_audio_ms: int | None = None
        self._rng = np.random.default_rng(script.line.seed)
        self._wall_start = time.monotonic()
        self._inbound: asyncio.Queue[LineInput] = asyncio.Queue()
        self._line_task: asyncio.Task[None] | None = None

    # --- CallLeg ----------------------------------------------------------------

    @property
    def call_id(self) -> str:
        return self._call_id

    async def send_audio(self, pcm: Pcm) -> None:
        samples = np.asarray(pcm)
        if samples.dtype != np.int16 or samples.ndim != 1:
            raise TypeError(
                f"expected 1-D int16 audio at 8 kHz, got {samples.dtype} {samples.shape}"
            )
        if self.script.line.g711:
            samples = ulaw_to_pcm(pcm_to_ulaw(samples))
        self._playback.append(samples)

    def clear_audio(self) -> None:
        if self._playback:
            self._playback.clear()
            self.clears_ms.append(self.now_ms)
            if self.heard and self.heard[-1].end_ms == self.now_ms:
                self.heard[-1].cut = True

    async def receive(self) -> LineInput:
        if self.realtime:
            return await self._receive_realtime()
        await asyncio.sleep(0)  # let other calls on this loop run
        return self._next_input()

    def _next_input(self) -> LineInput:
        """One step of the line: a due digit, the hangup, or the next 20 ms frame."""
        if self.debtor_hung_up_ms is not None or self.bot_hung_up_ms is not None:
            return FarEndHangup()
        if self._digits and self._digits[0][0] <= self.now_ms:
            return DigitIn(self._digits.popleft()[1])
        if self._hold_events and self._hold_events[0][0] <= self.now_ms:
            return self._hold_events.popleft()[1]
        if self.now_ms >= self.script.max_call_ms:
            self.debtor_hung_up_ms = self.now_ms
            return FarEndHangup()
        self.now_ms += FRAME_MS
        self._play_one_frame()
        frame = self._debtor_frame()
        self._debtor_acts()  # a turn taken now is heard from the next frame on
        if self.debtor_hung_up_ms is not None:
            return FarEndHangup()
        return AudioIn(frame)

    async def _receive_realtime(self) -> LineInput:
        if self.bot_hung_up_ms is not None:
            return FarEndHangup()
        self.start_line()
        assert self._line_task is not None
        if self._inbound.empty() and self._line_task.done():
            return FarEndHangup()
        return await self._inbound.get()

    def start_line(self) -> None:
        """Start the wall-clock line (real-time mode); the carrier does it on answer."""
        if self.realtime and self._line_task is None:
            self._wall_start = time.monotonic()
            self._line_task = asyncio.get_running_loop().create_task(self._run_line())

    async def _run_line(self) -> None:
        """Real time: the line runs on the wall clock whether or not the bot is reading it.

        Audio the bot queues while it is busy (recognizing, rendering) starts playing
        at the next 20 ms tick after it was queued, as on a phone line, so what the
        debtor heard carries the bot's real processing delay. Frames the bot has not
        read yet wait in the inbound queue like a carrier's receive buffer.
        """
        while True:
            if self.bot_hung_up_ms is not None:
                return
            waiting_digit = self._digits and self._digits[0][0] <= self.now_ms
            if not waiting_digit:
                delay = self._wall_start + (self.now_ms + FRAME_MS) / 1000.0 - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            item = self._next_input()
            self._inbound.put_nowait(item)
            if isinstance(item, FarEndHangup):
                return

    async def hangup(self) -> None:
        if self.bot_hung_up_ms is None:
            self.bot_hung_up_ms = self.now_ms
        self._playback.clear()

    # --- what the debtor experienced ----------------------------------------------

    def clock(self) -> datetime:
        """Line time as a timestamp: the instant the last frame ended."""
        return self.answered_at + timedelta(milliseconds=self.now_ms)

    @property
    def frames_received(self) -> int:
        """20 ms frames the line has produced so far, read or not (the recorder's clock)."""
        return self.now_ms // FRAME_MS

    @property
    def playing(self) -> bool:
        return bool(self._playback)

    def heard_audio(self) -> Pcm:
        """Everything the bot played that reached the debtor, prompts back to back."""
        parts = [p.pcm for p in self.heard]
        return np.concatenate(parts) if parts else _SILENCE[:0]

    # --- internals ---------------------------------------------------------------

    def _play_one_frame(self) -> None:
        if self._held_until_ms is not None and self.now_ms <= self._held_until_ms:
            return  # on hold the carrier sends nothing; the queued prompt waits
        needed = FRAME_SAMPLES
        chunks: list[Pcm] = []
        while needed and self._playback:
            head = self._playback[0]
            take = head[:needed]
            chunks.append(take)
            needed -= take.size
            if take.size == head.size:
                self._playback.popleft()
            else:
                self._playback[0] = head[take.size :]
        if not chunks:
            return
        frame = np.concatenate(chunks)
        start = self.now_ms - FRAME_MS
        if not self.heard or self.heard[-1].end_ms != start:
            self.heard.append(HeardPrompt(start, start))
        self.heard[-1].audio.append(frame)
        self.heard[-1].end_ms = self.now_ms
        if self._prompt_started_ms is None:
            self._prompt_started_ms = start
        self._last_bot_audio_ms = self.now_ms

    def _debtor_acts(self) -> None:
        if self._speaking is not None or self._next_turn >= len(self.script.turns):
            return
        turn = self.script.turns[self._next_turn]
        started = self._prompt_started_ms
        if started is None:
            return
        if turn.barge_in_after_ms is not None:
            due = self.now_ms - started >= turn.barge_in_after_ms
        else:
            assert self._last_bot_audio_ms is not None
            due = not self._playback and self.now_ms - self._last_bot_audio_ms >= turn.delay_ms
        if not due:
            return
        log = TurnLog(turn, self.now_ms)
        self.turns.append(log)
        rendered = self._rendered[self._next_turn]
        self._next_turn += 1
        self._prompt_started_ms = None
        match turn:
            case Speak():
                assert rendered is not None
                self._speaking, self._spoken = rendered, 0
            case Press(digits=digits, gap_ms=gap):
                for i, digit in enumerate(digits):
                    self._digits.append((self.now_ms + i * gap, digit))
                log.ended_ms = self.now_ms + (len(digits) - 1) * gap
            case Silent():
                log.ended_ms = self.now_ms
            case HangUp():
                self.debtor_hung_up_ms = log.ended_ms = self.now_ms
            case Hold(duration_ms=duration):
                self._held_until_ms = log.ended_ms = self.now_ms + duration
                self._hold_events.append((self.now_ms, HoldChanged(True)))
                self._hold_events.append((self.now_ms + duration, HoldChanged(False)))

    def _debtor_frame(self) -> Pcm:
        frame = _SILENCE.astype(np.float64)
        if self._speaking is not None:
            part = self._speaking[self._spoken : self._spoken + FRAME_SAMPLES]
            frame[: part.size] = part
            self._spoken += FRAME_SAMPLES
            if self._spoken >= self._speaking.size:
                self.turns[-1].ended_ms = self.now_ms - FRAME_MS + 1000 * part.size // LINE_RATE
                self._speaking = None
        line = self.script.line
        if line.noise_dbfs is not None:
            rms = 32768.0 * 10 ** (line.noise_dbfs / 20.0)
            frame += self._rng.normal(0.0, rms, FRAME_SAMPLES)
        pcm = np.clip(np.round(frame), -32768, 32767).astype(np.int16)
        return ulaw_to_pcm(pcm_to_ulaw(pcm)) if line.g711 else pcm


class SimulatedCarrier:
    """Dials numbers to scripted debtors. ``debtor_voice`` renders ``Speak(text=...)`` turns."""

    def __init__(
        self,
        scripts: Mapping[str, DebtorScript],
        *,
        debtor_voice: DebtorVoice | None = None,
        realtime: bool = False,
        start: datetime | None = None,
    ) -> None:
        self.scripts = dict(scripts)
        self.debtor_voice = debtor_voice
        self.realtime = realtime
        self.start = start or datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
        self.legs: list[SimulatedLeg] = []

    async def dial(
        self, number: str, *, caller_id: str | None = None, ring_timeout_s: float = 30.0
    ) -> SimulatedLeg | DialFailure:
        script = self.scripts.get(number)
        if script is None:
            return DialFailure(Disposition.FAIL, 404, f"{number} is not in the simulation")
        if script.failure is not None:
            return script.failure
        rendered = [self._render(turn) for turn in script.turns]
        leg = SimulatedLeg(
            f"sim-{len(self.legs) + 1}-{number}",
            script,
            rendered,
            answered_at=self.start,
            realtime=self.realtime,
        )
        self.legs.append(leg)
        leg.start_line()
        return leg

    def _render(self, turn: DebtorTurn) -> Pcm | None:
        if not isinstance(turn, Speak):
            return None
        if turn.audio is not None:
            return turn.audio
        if self.debtor_voice is None:
            raise ValueError("a Speak(text=...) turn needs the carrier's debtor_voice")
        assert turn.text is not None
        return self.debtor_voice.synthesize(turn.text)
