"""In-band DTMF: Goertzel detection of key tones in 8 kHz audio, and tone synthesis.

RFC 4733 telephone-events are the normal path (decoded in ``pyvoip_fixes``);
this detector is the fallback for far ends that send keys as audio. It is a
pure streaming state machine over 20 ms frames: a key is reported once, after
two consecutive frames agree, and again only after a frame without it. The
guards against speech ("talk-off") are the classic ones: one clear winner per
tone group, limited twist between the groups, and most of the frame's energy
inside the two tones.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voicebot.domain.pcm import LINE_RATE, Pcm

ROWS = (697.0, 770.0, 852.0, 941.0)
COLUMNS = (1209.0, 1336.0, 1477.0, 1633.0)
KEYS = ("123A", "456B", "789C", "*0#D")

_MIN_TONE_POWER = 1e5  # per-tone Goertzel power floor (≈ -40 dBm0 tones still pass)
_TONE_SHARE = 0.6  # the two tones must hold this share of the frame's energy
_MAX_TWIST = 10 ** (8 / 10)  # 8 dB between row and column tone
_RUNNER_UP = 10 ** (6 / 10)  # winner at least 6 dB above the next tone in its group


@functools.cache
def _phasors(n: int) -> npt.NDArray[np.complex128]:
    t = np.arange(n) / LINE_RATE
    return np.exp(-2j * np.pi * np.outer(np.array(ROWS + COLUMNS), t))


def _tone_powers(frame: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Goertzel's per-tone power for all 8 tones, computed as exact-frequency DFT bins."""
    bins = _phasors(len(frame)) @ frame
    return np.asarray(np.abs(bins) ** 2 / len(frame), dtype=np.float64)


def classify(frame: Pcm) -> str | None:
    """The key whose tone pair dominates this frame, if any."""
    samples = frame.astype(np.float64)
    total = float(np.dot(samples, samples))
    if total <= 0.0:
        return None
    powers = _tone_powers(samples)
    rows, cols = powers[:4], powers[4:]
    row = int(np.argmax(rows))
    col = int(np.argmax(cols))
    row_power, col_power = float(rows[row]), float(cols[col])
    if row_power < _MIN_TONE_POWER or col_power < _MIN_TONE_POWER:
        return None
    if row_power > col_power * _MAX_TWIST or col_power > row_power * _MAX_TWIST:
        return None
    if any(p * _RUNNER_UP > row_power for i, p in enumerate(rows) if i != row):
        return None
    if any(p * _RUNNER_UP > col_power for i, p in enumerate(cols) if i != col):
        return None
    # A pure tone of amplitude A over n samples has power n*A^2/4 here and energy n*A^2/2.
    if 2.0 * (row_power + col_power) < _TONE_SHARE * total:
        return None
    return KEYS[row][col]


@dataclass
class InbandDtmfDetector:
    """Feed 20 ms frames, get each key press exactly once."""

    _candidate: str | None = None
    _count: int = 0
    _reported: str | None = None

    def feed(self, frame: Pcm) -> list[str]:
        key = classify(frame)
        if key is None:
            self._candidate, self._count, self._reported = None, 0, None
            return []
        if key == self._candidate:
            self._count += 1
        else:
            self._candidate, self._count = key, 1
        if self._count >= 2 and self._reported != key:
            self._reported = key
            return [key]
        return []


def tone(key: str, duration_s: float = 0.1, amplitude: int = 8000) -> Pcm:
    """The DTMF tone pair for ``key`` as 8 kHz int16 audio (for prompts, tests, peers)."""
    found = [(r, keys.index(key)) for r, keys in enumerate(KEYS) if len(key) == 1 and key in keys]
    if not found:
        raise ValueError(f"not a DTMF key: {key!r}")
    row, col = found[0]
    t = np.arange(int(duration_s * LINE_RATE)) / LINE_RATE
    wave = np.sin(2 * np.pi * ROWS[row] * t) + np.sin(2 * np.pi * COLUMNS[col] * t)
    return (wave * amplitude / 2).astype(np.int16)
