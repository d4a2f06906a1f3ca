"""Endpointing: when did the debtor start talking, when did they stop, or did they never.

Fed one frame at a time with the detector's verdict; time is counted in
samples fed (the line is the clock), so the same code runs in real time on a
phone line and faster than real time on the simulated one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from voicebot.audio.vad import VadFrame, VadSettings, VoiceActivityDetector
from voicebot.domain.pcm import Pcm


class EndReason(StrEnum):
    SILENCE = "silence"  # trailing silence after speech
    MAX_LENGTH = "max_length"  # the utterance ran too long
    NO_INPUT = "no_input"  # no speech before the timeout


@dataclass(frozen=True, slots=True)
class EndpointSettings:
    trailing_silence_ms: int = 400
    max_utterance_ms: int = 15_000
    no_input_ms: int = 5_000
    vad: VadSettings = field(default_factory=VadSettings)


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    at_ms: int  # when the onset was confirmed
    start_ms: int  # first voiced frame of the run (speech began here)


@dataclass(frozen=True, slots=True)
class SpeechEnded:
    at_ms: int  # when the end was decided
    end_ms: int  # end of the last voiced frame
    reason: EndReason


EndpointEvent = SpeechStarted | SpeechEnded


class Endpointer:
    """One turn's endpointing. ``no_input_ms`` counts from ``arm()`` (e.g. the prompt's end)."""

    def __init__(
        self,
        sample_rate: int,
        settings: EndpointSettings | None = None,
        *,
        vad: VoiceActivityDetector | None = None,
    ) -> None:
        """``vad`` lets a call keep one detector (and its learned noise floor) across turns."""
        self.settings = settings or EndpointSettings()
        if vad is None:
            hangover = replace(self.settings.vad, hangover_ms=self.settings.trailing_silence_ms)
            vad = VoiceActivityDetector(sample_rate, hangover)
        else:
            vad.reset_run()
        self.vad = vad
        self.sample_rate = sample_rate
        self.now_ms = 0
        self.started: SpeechStarted | None = None
        self.ended: SpeechEnded | None = None
        self._armed_at_ms: int | None = 0
        self._last_voiced_end_ms = 0
        self.last: VadFrame | None = None

    def arm(self, at_ms: int | None = None) -> None:
        """Start (or restart) the no-input timer at ``at_ms`` (default: now)."""
        self._armed_at_ms = self.now_ms if at_ms is None else at_ms

    def disarm(self) -> None:
        """Stop the no-input timer (e.g. while a non-interruptible prompt plays)."""
        self._armed_at_ms = None

    def resume(self) -> None:
        """That speech was nothing (a cough, an empty result): keep listening, same no-input timer."""
        self.started = self.ended = None
        self.vad.reset_run()

    def feed(self, frame: Pcm) -> EndpointEvent | None:
        if self.ended is not None:
            return None
        self.now_ms += round(1000 * frame.size / self.sample_rate)
        verdict = self.last = self.vad.feed(frame)
        if verdict.voiced:
            self._last_voiced_end_ms = self.now_ms
        s = self.settings
        if self.started is None:
            if verdict.onset:
                self.started = SpeechStarted(self.now_ms, self.now_ms - verdict.voiced_run_ms)
                return self.started
            if self._armed_at_ms is not None and self.now_ms - self._armed_at_ms >= s.no_input_ms:
                self.ended = SpeechEnded(self.now_ms, self.now_ms, EndReason.NO_INPUT)
                return self.ended
            return None
        if self.now_ms - self._last_voiced_end_ms >= s.trailing_silence_ms:
            self.ended = SpeechEnded(self.now_ms, self._last_voiced_end_ms, EndReason.SILENCE)
            return self.ended
        if self.now_ms - self.started.start_ms >= s.max_utterance_ms:
            self.ended = SpeechEnded(self.now_ms, self.now_ms, EndReason.MAX_LENGTH)
            return self.ended
        return None
