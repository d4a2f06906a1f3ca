"""Special Information Tones (ITU-T E.180 / ANSI T1.209): the three rising tones before
"el número marcado no existe" and "todas las líneas están ocupadas".

Carriers play them in early media (183) instead of a SIP failure, so without
listening a dead number looks like no answer. The second tone tells the cause:
1370.6 Hz is a number problem (intercept, vacant code), 1428.5 Hz a network one
(reorder, no circuit). Pure numpy over 20 ms frames at 8 kHz.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from voicebot.domain.pcm import FRAME_SAMPLES, LINE_RATE, Pcm

SitCause = Literal["number", "congestion"]

LOW = (913.8, 985.2)
MIDDLE = (1370.6, 1428.5)
HIGH = (1776.7,)
_TONES = (*LOW, *MIDDLE, *HIGH)
_MIN_SEGMENT_S = 0.2  # segments are 274 or 380 ms; frames at the edges are mixed
_MAX_GAP_S = 0.1
_MIN_LEVEL = 32768 * 10 ** (-40 / 20) * np.sqrt(FRAME_SAMPLES)  # -40 dBFS, as a frame norm
_PURITY = 0.6  # share of the frame's energy at the tone


_N = np.arange(FRAME_SAMPLES)
_PROBES = np.exp(-2j * np.pi * np.outer(_TONES, _N) / LINE_RATE)  # one DFT row per tone


def frame_tone(frame: Pcm) -> float | None:
    """The SIT frequency this 20 ms frame is a pure tone of, if any."""
    samples = frame.astype(np.float64)
    energy = float(np.dot(samples, samples))
    if np.sqrt(energy) < _MIN_LEVEL:
        return None
    if samples.size != FRAME_SAMPLES:
        return None
    powers = np.abs(_PROBES @ samples) ** 2
    best = int(np.argmax(powers))
    # The DFT power of a pure tone at a probed frequency is about energy * N / 2.
    if powers[best] < _PURITY * energy * FRAME_SAMPLES / 2:
        return None
    return _TONES[best]


@dataclass(slots=True)
class SitDetector:
    """Feed the far end's early audio frame by frame; ``cause`` once the three tones were heard."""

    cause: SitCause | None = None
    _segments: list[tuple[float, int]] = field(default_factory=list)  # (tone, frames)
    _gap: int = 0

    def feed(self, frame: Pcm) -> SitCause | None:
        if self.cause is not None:
            return self.cause
        tone = frame_tone(frame)
        frame_s = FRAME_SAMPLES / LINE_RATE
        if tone is None:
            self._gap += 1
            if self._gap * frame_s > _MAX_GAP_S:
                self._segments.clear()
            return None
        self._gap = 0
        if self._segments and self._segments[-1][0] == tone:
            self._segments[-1] = (tone, self._segments[-1][1] + 1)
        else:
            self._segments.append((tone, 1))
            del self._segments[:-4]
        self.cause = self._decide(frame_s)
        return self.cause

    def _decide(self, frame_s: float) -> SitCause | None:
        long_enough = [(t, n) for t, n in self._segments if n * frame_s >= _MIN_SEGMENT_S]
        for first, second, third in zip(
            long_enough, long_enough[1:], long_enough[2:], strict=False
        ):
            if first[0] in LOW and second[0] in MIDDLE and third[0] in HIGH:
                return "number" if second[0] == MIDDLE[0] else "congestion"
        return None


def sit_sequence(cause: SitCause, *, amplitude: int = 8000) -> Pcm:
    """The three tones (274/274/380 ms) for ``cause``: what a carrier plays, for tests and demos."""
    parts = []
    middle = MIDDLE[0] if cause == "number" else MIDDLE[1]
    for hz, seconds in ((LOW[0], 0.274), (middle, 0.274), (HIGH[0], 0.380)):
        t = np.arange(int(LINE_RATE * seconds)) / LINE_RATE
        parts.append(amplitude * np.sin(2 * np.pi * hz * t))
    return np.concatenate(parts).astype(np.int16)
