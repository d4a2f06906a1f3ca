"""Answering-machine detection on the first seconds after answer: greeting cadence and the beep.

Why this works on a collections line: a person answers with a short "¿aló?" (well
under ~1.5 s) and then waits for the caller; a voicemail plays a long continuous
greeting (over ~2.5 s, pauses between sentences shorter than a person's wait)
and often ends in a pure tone near 1 kHz held for a fraction of a second.
Pure numpy over 8 kHz int16 frames: the detector is fed frame by frame and
answers as soon as the evidence is enough, or ``unknown`` when time runs out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

import numpy as np

from voicebot.audio.vad import frame_dbfs
from voicebot.domain.outcome import Disposition
from voicebot.domain.pcm import FRAME_SAMPLES, LINE_RATE, Pcm

FRAME_S = FRAME_SAMPLES / LINE_RATE

Verdict = Literal["human", "machine", "unknown"]


@dataclass(frozen=True, slots=True)
class AmdSettings:
    """Thresholds in seconds of line audio; defaults follow common carrier AMD tuning."""

    human_max_greeting_s: float = 1.5  # "¿aló?", "¿sí, diga?"
    # "Hola, has llamado a ... deja tu mensaje". Above the ~2.5 s textbook figure on
    # purpose: a person answering "Aló, buenas tardes, ¿con quién tengo el gusto?"
    # talks for ~3 s, and hanging up on a debtor costs more than greeting a machine.
    machine_min_greeting_s: float = 3.5
    end_of_greeting_s: float = 0.8  # silence after which a person is waiting for us
    # After a greeting too long for a person and too short for a machine, keep listening
    # this long for a beep (short voicemail greetings pause about a second before it).
    beep_wait_s: float = 1.5
    # The same wait after a greeting short enough for a person ("Deje su mensaje", pause,
    # beep). Off by default: every person would be greeted this much later.
    short_greeting_beep_wait_s: float = 0.0
    word_gap_s: float = 0.12  # a quieter stretch this long separates words (cadence)
    max_analysis_s: float = 5.0  # decide by then, or say unknown
    speech_floor_dbfs: float = -45.0  # nothing quieter is ever speech
    snr_db: float = 12.0  # speech stands this far above the line's noise floor
    # The floor is measured on the first frames after answer (line noise before "¿aló?")
    # and then follows the line quickly while nobody speaks, so street or bus noise
    # is not taken for a long greeting.
    noise_calibration_s: float = 0.25
    floor_rise_db_per_s: float = 25.0  # while not voiced
    floor_creep_db_per_s: float = 2.5  # always (noise that began during speech)
    beep_min_s: float = 0.3  # a tone held this long is a beep, not a vowel
    beep_band_hz: tuple[float, float] = (400.0, 2500.0)
    beep_purity: float = 0.8  # share of the frame's energy within ±100 Hz of its peak


@dataclass(frozen=True, slots=True)
class AmdEvidence:
    """Why the detector decided; kept with the call attempt for audits and tuning."""

    analysed_s: float
    greeting_s: float  # first onset to the start of the first long silence (or to now)
    onset_s: float | None  # when the far end first spoke
    silence_after_s: float  # silence since the greeting stopped
    words: int  # voiced stretches separated by short gaps
    beep_at_s: float | None = None
    beep_hz: float | None = None


@dataclass(frozen=True, slots=True)
class AmdResult:
    verdict: Verdict
    reason: str  # "short_greeting_then_wait", "long_greeting", "beep", "no_speech", ...
    evidence: AmdEvidence


def _tone(frame: Pcm, settings: AmdSettings) -> float | None:
    """The frequency of ``frame`` if it is a pure tone in the beep band, else None."""
    samples = frame.astype(np.float64) * np.hanning(frame.size)
    power = np.abs(np.fft.rfft(samples, n=4 * frame.size)) ** 2  # zero-pad: 12.5 Hz bins
    total = float(power.sum())
    if total <= 0.0:
        return None
    hz_per_bin = LINE_RATE / (4 * frame.size)
    peak = int(np.argmax(power))
    peak_hz = peak * hz_per_bin
    low, high = settings.beep_band_hz
    if not low <= peak_hz <= high:
        return None
    span = round(100.0 / hz_per_bin)
    share = float(power[max(0, peak - span) : peak + span + 1].sum()) / total
    return peak_hz if share >= settings.beep_purity else None


@dataclass(slots=True)
class BeepDetector:
    """Finds the first pure tone held ``beep_min_s``; also tells when that tone has stopped."""

    settings: AmdSettings = field(default_factory=AmdSettings)
    beep_at: int | None = None  # frame index where the beep began
    beep_hz: float | None = None
    _frames: int = 0
    _run: int = 0
    _hz: float = 0.0
    _in_tone: bool = False

    def feed(self, frame: Pcm, *, voiced: bool | None = None) -> bool:
        """True while the (already recognized) beep is sounding or the frame that completes it."""
        index = self._frames
        self._frames += 1
        if voiced is None:
            voiced = frame_dbfs(frame) > self.settings.speech_floor_dbfs
        hz = _tone(frame, self.settings) if voiced else None
        if hz is not None and (self._run == 0 or abs(hz - self._hz) <= 50.0):
            self._run += 1
            self._hz = hz if self._run == 1 else self._hz
            if self.beep_at is None and self._run * FRAME_S >= self.settings.beep_min_s:
                self.beep_at, self.beep_hz = index - self._run + 1, self._hz
        else:
            self._run = 1 if hz is not None else 0
            self._hz = hz or 0.0
        self._in_tone = self.beep_at is not None and self._run > 0
        return self._in_tone

    @property
    def beep_over(self) -> bool:
        """The beep was heard and has ended: a message recorder is now listening."""
        return self.beep_at is not None and not self._in_tone


@dataclass(slots=True)
class AnsweringMachineDetector:
    """Feed 20 ms frames from the moment of answer; ``feed`` returns the verdict once known."""

    settings: AmdSettings = field(default_factory=AmdSettings)
    _frames: int = 0
    _floor_dbfs: float | None = None  # the line's noise level; drops at once, rises as it goes
    _onset: int | None = None
    _last_voiced: int | None = None
    _words: int = 0
    _in_word: bool = False
    _greeting_end: int | None = None  # frame where the first long silence began
    _beep: BeepDetector | None = None
    _result: AmdResult | None = None

    @property
    def result(self) -> AmdResult | None:
        return self._result

    def feed(self, frame: Pcm) -> AmdResult | None:
        if self._result is not None:
            return self._result
        s = self.settings
        index = self._frames
        self._frames += 1
        level = frame_dbfs(frame)
        voiced = self._track_floor(index, level)
        if self._beep is None:
            self._beep = BeepDetector(s)
        self._beep.feed(frame, voiced=voiced)
        if voiced:
            if self._onset is None:
                self._onset = index
            gap = 0 if self._last_voiced is None else index - self._last_voiced - 1
            if not self._in_word or gap * FRAME_S >= s.word_gap_s:
                self._words += 1
            self._in_word = True
            self._last_voiced = index
        elif (
            self._last_voiced is not None and (index - self._last_voiced) * FRAME_S >= s.word_gap_s
        ):
            self._in_word = False
        self._result = self._decide()
        return self._result

    def _track_floor(self, index: int, level: float) -> bool:
        """Is this frame voiced? Updates the noise floor it is judged against."""
        s = self.settings
        floor = level if self._floor_dbfs is None else self._floor_dbfs
        calibrating = index * FRAME_S < s.noise_calibration_s and self._onset is None
        if calibrating:
            floor = max(min(floor, level), -90.0)
        voiced = level > max(s.speech_floor_dbfs, floor + s.snr_db)
        floor = min(floor + s.floor_creep_db_per_s * FRAME_S, level)
        if not voiced and level > floor:
            floor = min(level, floor + s.floor_rise_db_per_s * FRAME_S)
        self._floor_dbfs = max(floor, -90.0)
        return voiced

    def finish(self) -> AmdResult:
        """The verdict on everything fed so far (the audio ended before a decision)."""
        result = self._result or self._decide(final=True)
        assert result is not None  # a final decision always has a verdict
        self._result = result
        return result

    def _evidence(self) -> AmdEvidence:
        now = self._frames
        onset = self._onset
        beep = self._beep
        silence = 0 if self._last_voiced is None else now - 1 - self._last_voiced
        if onset is None or self._last_voiced is None:
            greeting = 0
        elif self._greeting_end is not None:
            greeting = self._greeting_end - onset
        else:
            greeting = self._last_voiced + 1 - onset
        return AmdEvidence(
            analysed_s=now * FRAME_S,
            greeting_s=greeting * FRAME_S,
            onset_s=None if onset is None else onset * FRAME_S,
            silence_after_s=silence * FRAME_S,
            words=self._words,
            beep_at_s=None if beep is None or beep.beep_at is None else beep.beep_at * FRAME_S,
            beep_hz=None if beep is None else beep.beep_hz,
        )

    def _decide(self, *, final: bool = False) -> AmdResult | None:
        s = self.settings
        if (
            self._greeting_end is None
            and self._last_voiced is not None
            and (self._frames - 1 - self._last_voiced) * FRAME_S >= s.end_of_greeting_s
        ):
            self._greeting_end = self._last_voiced + 1
        ev = self._evidence()
        if ev.beep_at_s is not None:
            return AmdResult("machine", "beep", ev)
        if ev.greeting_s >= s.machine_min_greeting_s:
            return AmdResult("machine", "long_greeting", ev)
        if self._greeting_end is not None:
            if ev.greeting_s <= s.human_max_greeting_s:
                wait = s.end_of_greeting_s + s.short_greeting_beep_wait_s
                if ev.silence_after_s < wait and not final:
                    return None
                return AmdResult("human", "short_greeting_then_wait", ev)
            waiting_for_beep = ev.silence_after_s < s.end_of_greeting_s + s.beep_wait_s
            if waiting_for_beep and not final:
                return None
            return AmdResult("unknown", "medium_greeting", ev)
        if final or ev.analysed_s >= s.max_analysis_s:
            reason = "no_speech" if ev.onset_s is None else "still_speaking"
            return AmdResult("unknown", reason, ev)
        return None


def detect(pcm: Pcm, settings: AmdSettings | None = None) -> AmdResult:
    """Run the detector over a recording of the first seconds after answer (8 kHz)."""
    detector = AnsweringMachineDetector(settings or AmdSettings())
    usable = pcm.size - pcm.size % FRAME_SAMPLES
    for start in range(0, usable, FRAME_SAMPLES):
        result = detector.feed(pcm[start : start + FRAME_SAMPLES])
        if result is not None:
            return result
    return detector.finish()


# --- what to do about a machine -----------------------------------------------------


class MachineAction(StrEnum):
    HANG_UP = "hang_up"
    LEAVE_MESSAGE = "leave_message"


@dataclass(frozen=True, slots=True)
class VoicemailPolicy:
    """What the bot does on a machine.

    A lawful message names only the caller's first name, a company name that does
    not reveal collection, and a callback number (FDCPA/Reg F "limited-content
    message"; LatAm rules forbid disclosing a debt to third parties, and a
    voicemail may be heard by anyone). The wording lives in ``prompts/``
    under ``prompt``; this policy only decides whether and when to say it.
    """

    on_machine: MachineAction = MachineAction.HANG_UP
    on_unknown: Literal["continue", "hang_up"] = "continue"
    prompt: str = "voicemail_message"
    wait_for_beep_s: float = 8.0  # speak after the beep, or after this long at most


@dataclass(frozen=True, slots=True)
class AmdDecision:
    """``continue`` the dialog, ``hang_up`` (disposition VM), or ``leave_message`` then hang up."""

    action: Literal["continue", "hang_up", "leave_message"]
    prompt: str | None = None
    wait_for_beep: bool = False


def late_verdict_disposition(late_verdict: str) -> Disposition | None:
    """The disposition of a call whose machine (or fax) was recognised after the dialog began
    (None when nothing was): the dialog saw only a hangup, which would read as DROP."""
    if late_verdict.startswith("fax"):
        return Disposition.FAIL
    return Disposition.VM if late_verdict.startswith("machine") else None


def decide(result: AmdResult, policy: VoicemailPolicy) -> AmdDecision:
    match result.verdict:
        case "human":
            return AmdDecision("continue")
        case "unknown":
            return AmdDecision(policy.on_unknown)
        case "machine" if policy.on_machine is MachineAction.LEAVE_MESSAGE:
            heard_beep = result.evidence.beep_at_s is not None
            return AmdDecision("leave_message", policy.prompt, wait_for_beep=not heard_beep)
        case _:
            return AmdDecision("hang_up")
