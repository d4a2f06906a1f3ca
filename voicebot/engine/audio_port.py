"""The dialog port over a real audio line: TTS out, VAD + endpointing + ASR in, with barge-in.

``say`` renders (through the cache) and queues audio, then returns at once:
the prompt plays while ``listen`` is already hearing the line. When the debtor
talks over an interruptible prompt for ``barge_in_ms`` of sustained voice (a
click or a cough never qualifies), playback is cleared and the utterance is
recognized from its true start: a pre-roll of recent frames is fed to the
recognizer first. A DTMF key interrupts at once.

Time inside a turn is line time (20 ms per frame received), so the port runs
unchanged in real time on SIP and faster than real time on the simulated line;
event stamps come from the clock the caller passes in (the line's, usually).
The no-input timer starts when the queued prompts have finished playing.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from voicebot.actions import Listen, ListenMode, Say, Transfer
from voicebot.audio.endpoint import (
    Endpointer,
    EndpointSettings,
    EndReason,
    SpeechEnded,
    SpeechStarted,
)
from voicebot.audio.vad import VoiceActivityDetector
from voicebot.domain.pcm import FRAME_SAMPLES, LINE_RATE, Pcm
from voicebot.events import Dtmf, Hangup, NoInput, TransferCompleted, TransferFailed, Utterance
from voicebot.speech.recognizer import CallRecognizer, Recognition
from voicebot.speech.synthesizer import Synthesizer
from voicebot.telephony.carrier import AudioIn, CallLeg, DigitIn, HoldChanged, LineInput

FRAME_MS = 1000 * FRAME_SAMPLES // LINE_RATE

Clock = Callable[[], datetime]
Transferrer = Callable[[Transfer], Awaitable[TransferCompleted | TransferFailed | Hangup]]
ListenResult = Utterance | Dtmf | NoInput | Hangup


@dataclass(frozen=True, slots=True)
class PortSettings:
    endpoint: EndpointSettings = field(
        default_factory=lambda: EndpointSettings(trailing_silence_ms=300)
    )
    barge_in_ms: int = 200  # sustained voice over a prompt before playback stops
    preroll_ms: int = 300  # audio before the detected onset fed to the recognizer
    inter_digit_ms: int = 3000  # multi-digit collection ends after this pause
    feed_batch_frames: int = 5  # frames per recognizer call (one thread hop per 100 ms)


@dataclass(slots=True)
class SayTiming:
    prompt: str
    synth_s: float  # render or cache hit, wall time
    audio_s: float  # length of the rendered audio
    queued_at_line_ms: int
    queued_wall: float = 0.0  # perf_counter once the audio was handed to the line


@dataclass(slots=True)
class ListenTiming:
    """One ``listen``: line-time marks (ms since the call's first frame) and wall-time costs."""

    started_line_ms: int
    result: str = ""
    speech_start_ms: int | None = None
    speech_end_ms: int | None = None  # last voiced frame
    endpoint_at_ms: int | None = None  # when end of speech was decided
    endpoint_wall: float | None = None  # perf_counter at that decision (or at the last digit)
    barge_in_at_ms: int | None = None  # when playback was cleared
    recognition_s: float = 0.0  # flushing the last frames + final result, wall time
    feed_s: float = 0.0  # streaming recognition during the turn, wall time
    returned_at: float = 0.0  # perf_counter when listen returned
    discarded: int = 0  # speech segments that recognized as nothing

    @property
    def endpoint_wait_ms(self) -> int | None:
        if self.endpoint_at_ms is None or self.speech_end_ms is None:
            return None
        return self.endpoint_at_ms - self.speech_end_ms


class AudioDialogPort:
    """``DialogPort`` over one ``CallLeg`` with a per-call recognizer and a (cached) synthesizer."""

    def __init__(
        self,
        leg: CallLeg,
        recognizer: CallRecognizer,
        synthesizer: Synthesizer,
        *,
        clock: Clock,
        settings: PortSettings | None = None,
        transferrer: Transferrer | None = None,
    ) -> None:
        self.leg = leg
        self.recognizer = recognizer
        self.synthesizer = synthesizer
        self.clock = clock
        self.settings = settings or PortSettings()
        self.transferrer = transferrer
        self.line_ms = 0
        self.says: list[SayTiming] = []
        self.listens: list[ListenTiming] = []
        self._playback_end_ms = 0  # when the queued prompts finish, line time
        self._protected_until_ms = 0  # end of the last prompt that must not be interrupted
        self._vad = VoiceActivityDetector(LINE_RATE, self.settings.endpoint.vad)
        self._hung_up = False
        self._held_since_ms: int | None = None  # line time the far end put us on hold
        self.held_ms = 0  # total time on hold (not counted as silence)

    # --- DialogPort ------------------------------------------------------------

    async def say(self, say: Say) -> None:
        started = time.perf_counter()
        pcm = await asyncio.to_thread(self.synthesizer.synthesize, say.text)
        synth_s = time.perf_counter() - started
        await self.leg.send_audio(pcm)
        duration_ms = 1000 * pcm.size // LINE_RATE
        self._playback_end_ms = max(self._playback_end_ms, self.line_ms) + duration_ms
        if not say.barge_in:
            self._protected_until_ms = self._playback_end_ms
        self.says.append(
            SayTiming(say.prompt, synth_s, pcm.size / LINE_RATE, self.line_ms, time.perf_counter())
        )

    async def listen(self, listen: Listen) -> ListenResult:
        timing = ListenTiming(self.line_ms)
        self.listens.append(timing)
        result = await self._listen(listen, timing)
        timing.result = type(result).__name__
        timing.returned_at = time.perf_counter()
        return result

    async def transfer(self, transfer: Transfer) -> TransferCompleted | TransferFailed | Hangup:
        if self.transferrer is None:
            return TransferFailed(self.clock(), "transfer_unavailable")
        return await self.transferrer(transfer)

    async def hangup(self) -> None:
        if not self._hung_up:
            self._hung_up = True
            await self.leg.hangup()

    # --- one turn ----------------------------------------------------------------

    async def _listen(self, listen: Listen, timing: ListenTiming) -> ListenResult:
        s = self.settings
        speech = listen.mode is not ListenMode.DTMF
        if speech:
            # Off the loop: a grammar turn builds (or re-targets) a Kaldi grammar graph.
            await asyncio.to_thread(self.recognizer.start_turn, listen.hints)
        endpointer = Endpointer(LINE_RATE, s.endpoint, vad=self._vad)
        endpointer.disarm()  # no-input is timed here, from the end of playback
        timeout_ms = round(listen.timeout_s * 1000)
        preroll: deque[tuple[int, Pcm]] = deque(maxlen=(s.preroll_ms + 600) // FRAME_MS)
        pending: list[Pcm] = []
        digits = ""
        last_digit_ms = 0
        while True:
            item = await self._next_input()
            if isinstance(item, DigitIn):
                if self.line_ms < self._protected_until_ms:
                    continue  # a disclosure is heard to the end: keys over it are dropped
                if not digits:
                    self._stop_playback(timing)
                digits += item.digit
                last_digit_ms = self.line_ms
                timing.endpoint_wall = time.perf_counter()
                done = item.digit == "#" or len(digits) >= max(1, listen.max_digits)
                if done:
                    return Dtmf(self.clock(), digits.rstrip("#") or "#")
                continue
            if not isinstance(item, AudioIn):
                return Hangup(self.clock())
            self.line_ms += FRAME_MS
            frame = item.frame
            if digits:
                if self.line_ms - last_digit_ms >= s.inter_digit_ms:
                    return Dtmf(self.clock(), digits)
                continue
            if self.line_ms <= self._protected_until_ms:
                self._vad.feed(frame)  # keep learning the line's noise, hear nothing
                endpointer.resume()
                continue
            event = endpointer.feed(frame) if speech else None
            preroll.append((self.line_ms, frame))
            if endpointer.started is None:
                if self.line_ms >= max(self._playback_end_ms, timing.started_line_ms) + timeout_ms:
                    return NoInput(self.clock())
                if not speech:
                    self._vad.feed(frame)
                continue
            if isinstance(event, SpeechStarted):
                onset_ms = self.line_ms - (endpointer.now_ms - event.start_ms)
                timing.speech_start_ms = onset_ms
                first = onset_ms - s.preroll_ms
                pending = [f for t, f in preroll if t > first]
            else:
                pending.append(frame)
            last = endpointer.last
            if (
                self.line_ms < self._playback_end_ms
                and last is not None
                and last.voiced_run_ms >= s.barge_in_ms
            ):
                self._stop_playback(timing)
            if len(pending) >= s.feed_batch_frames:
                await self._feed(pending, timing)
                pending = []
            if isinstance(event, SpeechEnded):
                timing.speech_end_ms = self.line_ms - (endpointer.now_ms - event.end_ms)
                timing.endpoint_at_ms = self.line_ms
                timing.endpoint_wall = time.perf_counter()
                recognition = await self._finish(pending, timing)
                pending = []
                if recognition.text.strip() or recognition.intent is not None:
                    self._stop_playback(timing)
                    return Utterance(
                        self.clock(), recognition.text, recognition.confidence, recognition.intent
                    )
                if event.reason is EndReason.MAX_LENGTH:
                    return NoInput(self.clock())
                timing.discarded += 1
                endpointer.resume()
                await asyncio.to_thread(self.recognizer.start_turn, listen.hints)

    async def _next_input(self) -> LineInput:
        """The next input that is neither a hold change nor audio heard on hold."""
        while True:
            item = await self.leg.receive()
            if not self._on_hold(item):
                return item

    def _on_hold(self, item: object) -> bool:
        """Take a hold change, or a frame heard while on hold (music or silence: ignored)."""
        if isinstance(item, HoldChanged):
            self._hold(item.held)
            return True
        if self._held_since_ms is not None and isinstance(item, AudioIn):
            self.line_ms += FRAME_MS
            return True
        return False

    def _hold(self, held: bool) -> None:
        """On hold the bot pauses: the carrier stops sending (the queued prompt waits) and the
        no-input timer stops; on resume both go on where they were."""
        if held and self._held_since_ms is None:
            self._held_since_ms = self.line_ms
        elif not held and self._held_since_ms is not None:
            start, self._held_since_ms = self._held_since_ms, None
            paused = self.line_ms - start
            self.held_ms += paused
            self._playback_end_ms = max(self._playback_end_ms, start) + paused
            if self._protected_until_ms > start:
                self._protected_until_ms += paused

    def _stop_playback(self, timing: ListenTiming) -> None:
        if self.line_ms < self._playback_end_ms:
            self.leg.clear_audio()
            self._playback_end_ms = self.line_ms
            if timing.barge_in_at_ms is None:
                timing.barge_in_at_ms = self.line_ms

    async def _feed(self, frames: list[Pcm], timing: ListenTiming) -> None:
        started = time.perf_counter()
        audio = np.concatenate(frames)
        await asyncio.to_thread(self.recognizer.accept, audio)
        timing.feed_s += time.perf_counter() - started

    async def _finish(self, frames: list[Pcm], timing: ListenTiming) -> Recognition:
        started = time.perf_counter()
        recognizer = self.recognizer

        def flush_and_finish() -> Recognition:
            if frames:
                recognizer.accept(np.concatenate(frames))
            return recognizer.finish()

        recognition = await asyncio.to_thread(flush_and_finish)
        timing.recognition_s = time.perf_counter() - started
        return recognition
