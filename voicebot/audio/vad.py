"""Voice activity from frame energy, against a noise floor that adapts to the line.

A frame is *voiced* when its energy stands ``snr_db`` above the noise floor (and
above an absolute minimum, so digital silence is never speech). The floor is the
quietest frame of the last ``floor_window_ms`` (minimum statistics): speech always
has quiet moments between syllables, stationary noise never dips below itself,
so a humming line raises the floor and a talking debtor does not.
*Speech* needs voiced frames sustained for ``onset_ms`` (short gaps tolerated),
so a click or a line pop never counts; it lasts through ``hangover_ms`` of
unvoiced frames so the short pauses between words do not end it.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from voicebot.domain.pcm import Pcm

SILENCE_DBFS = -100.0  # what an all-zero frame measures


def frame_dbfs(frame: Pcm) -> float:
    """RMS level of ``frame`` in dB relative to int16 full scale (a full-scale square wave is 0)."""
    if frame.size == 0:
        return SILENCE_DBFS
    samples = frame.astype(np.float64)
    rms = math.sqrt(float(np.mean(samples * samples)))
    if rms <= 0.0:
        return SILENCE_DBFS
    return max(SILENCE_DBFS, 20.0 * math.log10(rms / 32768.0))


@dataclass(frozen=True, slots=True)
class VadSettings:
    """Defaults suit 8 kHz telephone speech in 20 ms frames."""

    snr_db: float = 12.0
    min_speech_dbfs: float = -50.0
    initial_floor_dbfs: float = -65.0  # before the first frame
    onset_ms: int = 100
    gap_ms: int = 40  # unvoiced frames tolerated inside an onset run
    hangover_ms: int = 300
    # The floor is taken from the first frame on (a call starts with the line's
    # noise while the bot greets): holding it at ``initial_floor_dbfs`` for the
    # first window made a hissing line look like a debtor talking over the greeting.
    floor_window_ms: int = 1000


@dataclass(frozen=True, slots=True)
class VadFrame:
    """What one frame told the detector."""

    dbfs: float
    voiced: bool  # this frame alone is above the threshold
    speech: bool  # sustained speech (onset confirmed, within hangover)
    onset: bool  # speech began with this frame
    offset: bool  # speech ended with this frame (hangover elapsed)
    voiced_run_ms: int  # length of the current sustained voiced run


class VoiceActivityDetector:
    """Fed frame by frame; all state is here, nothing global."""

    def __init__(self, sample_rate: int, settings: VadSettings | None = None) -> None:
        if sample_rate <= 0:
            raise ValueError(f"sample rate must be positive, got {sample_rate}")
        self.sample_rate = sample_rate
        self.settings = settings or VadSettings()
        self._history: deque[float] = deque()
        self._history_ms = 0
        self.noise_floor_dbfs = self.settings.initial_floor_dbfs
        self._run_ms = 0
        self._gap_ms = 0
        self._silence_ms = 0
        self._speech = False

    @property
    def threshold_dbfs(self) -> float:
        return max(self.noise_floor_dbfs + self.settings.snr_db, self.settings.min_speech_dbfs)

    @property
    def in_speech(self) -> bool:
        return self._speech

    def reset_run(self) -> None:
        """Forget the current run and speech (the floor is kept: it describes the line)."""
        self._run_ms = self._gap_ms = self._silence_ms = 0
        self._speech = False

    def feed(self, frame: Pcm) -> VadFrame:
        s = self.settings
        ms = round(1000 * frame.size / self.sample_rate)
        dbfs = frame_dbfs(frame)
        voiced = dbfs >= self.threshold_dbfs
        self._adapt_floor(dbfs, ms)
        if voiced:
            self._run_ms += ms + (self._gap_ms if self._run_ms else 0)
            self._gap_ms = 0
            self._silence_ms = 0
        else:
            self._gap_ms += ms
            self._silence_ms += ms
            if self._gap_ms > s.gap_ms:
                self._run_ms = 0
                self._gap_ms = 0
        onset = offset = False
        if not self._speech and self._run_ms >= s.onset_ms:
            self._speech = onset = True
        elif self._speech and self._silence_ms >= s.hangover_ms:
            self._speech = False
            offset = True
        return VadFrame(dbfs, voiced, self._speech, onset, offset, self._run_ms)

    def _adapt_floor(self, dbfs: float, ms: int) -> None:
        self._history.append(dbfs)
        self._history_ms += ms
        window = self.settings.floor_window_ms
        while self._history_ms - ms >= window and len(self._history) > 1:
            self._history.popleft()
            self._history_ms -= ms
        self.noise_floor_dbfs = min(self._history)
