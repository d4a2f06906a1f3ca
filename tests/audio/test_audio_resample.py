"""Resampling keeps in-band tones, removes out-of-band ones, and handles streams."""

from __future__ import annotations

import numpy as np
import pytest

from voicebot.audio.resample import StreamResampler, resample


def _tone(freq: float, rate: int, seconds: float = 1.0, amplitude: float = 10000) -> np.ndarray:  # type: ignore[type-arg]
    t = np.arange(int(rate * seconds)) / rate
    return np.round(amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def _peak_hz(pcm: np.ndarray, rate: int) -> float:  # type: ignore[type-arg]
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(pcm.size)))
    return float(np.fft.rfftfreq(pcm.size, 1 / rate)[int(np.argmax(spectrum))])


def test_upsampling_keeps_the_tone_and_the_duration() -> None:
    out = resample(_tone(1000, 8000), 8000, 16000)
    assert out.dtype == np.int16
    assert out.size == 16000
    assert abs(_peak_hz(out, 16000) - 1000) < 2


def test_downsampling_removes_what_the_line_cannot_carry() -> None:
    in_band = resample(_tone(1000, 22050), 22050, 8000)
    out_of_band = resample(_tone(6000, 22050), 22050, 8000)
    assert in_band.size == 8000
    rms_in = np.sqrt(np.mean(in_band.astype(np.float64) ** 2))
    rms_out = np.sqrt(np.mean(out_of_band[200:-200].astype(np.float64) ** 2))
    assert rms_in > 6000
    assert rms_out < 50  # no alias at 2050 Hz


def test_same_rate_is_a_copy() -> None:
    pcm = _tone(440, 8000, 0.1)
    out = resample(pcm, 8000, 8000)
    assert np.array_equal(out, pcm) and out is not pcm


def test_stream_matches_whole_signal() -> None:
    pcm = _tone(700, 8000, 1.0)
    stream = StreamResampler(8000, 16000)
    chunks = [stream.feed(pcm[i : i + 160]) for i in range(0, pcm.size, 160)]
    chunks.append(stream.feed(np.zeros(0, np.int16), last=True))
    joined = np.concatenate(chunks)
    assert abs(joined.size - 16000) <= 2
    whole = resample(pcm, 8000, 16000)
    n = min(joined.size, whole.size)
    assert (
        np.max(np.abs(joined[1000 : n - 1000].astype(int) - whole[1000 : n - 1000].astype(int)))
        < 40
    )


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="positive"):
        resample(np.zeros(10, np.int16), 0, 8000)
    with pytest.raises(ValueError, match="mono"):
        resample(np.zeros((10, 2), np.int16), 8000, 16000)
    with pytest.raises(TypeError, match="int16"):
        resample(np.zeros(10, np.float32), 8000, 16000)
