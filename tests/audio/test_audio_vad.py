"""Voice activity on real Spanish speech, on clicks and on noisy lines."""

from __future__ import annotations

import numpy as np
from audio_signals import FRAME, RATE, frames_of, padded, speech_bounds_ms

from voicebot.audio.vad import SILENCE_DBFS, VadSettings, VoiceActivityDetector, frame_dbfs


def test_frame_dbfs_reference_levels() -> None:
    square = np.where(np.arange(FRAME) % 20 < 10, 32767, -32767).astype(np.int16)
    sine = np.round(32767 * np.sin(2 * np.pi * 1000 * np.arange(FRAME) / RATE)).astype(np.int16)
    assert abs(frame_dbfs(square)) < 0.01
    assert abs(frame_dbfs(sine) + 3.01) < 0.05
    assert frame_dbfs(np.zeros(FRAME, np.int16)) == SILENCE_DBFS
    assert frame_dbfs(np.zeros(0, np.int16)) == SILENCE_DBFS


def _run(pcm: np.ndarray, settings: VadSettings | None = None) -> list[bool]:  # type: ignore[type-arg]
    vad = VoiceActivityDetector(RATE, settings)
    return [vad.feed(f).speech for f in frames_of(pcm)]


def test_speech_inside_real_recordings_and_not_in_the_padding(spanish_recordings) -> None:  # type: ignore[no-untyped-def]
    names = ["auth-thankyou", "vm-goodbye", "agent-loginok", "vm-deleted", "conf-errormenu"]
    for seed, name in enumerate(names):
        speech = spanish_recordings[name]
        start, end = speech_bounds_ms(speech)
        line = padded(speech, 1500, 1500, noise_rms=20.0, seed=seed)
        flags = _run(line)
        frame_ms = [i * 20 for i in range(len(flags))]
        before = [f for f, t in zip(flags, frame_ms, strict=True) if t < 1500 + start - 20]
        during = [
            f for f, t in zip(flags, frame_ms, strict=True) if 1500 + start + 200 <= t < 1500 + end
        ]
        after = [f for f, t in zip(flags, frame_ms, strict=True) if t >= 1500 + end + 400]
        assert not any(before), name
        assert np.mean(during) > 0.95, name
        assert not any(after), name


def test_a_click_is_not_speech() -> None:
    line = padded(np.zeros(RATE * 2, np.int16), 0, 0, noise_rms=10.0, seed=7)
    for at in (4000, 6000, 9000):  # three 5 ms full-scale clicks, 250-375 ms apart
        line[at : at + 40] = 30000
    vad = VoiceActivityDetector(RATE)
    verdicts = [vad.feed(f) for f in frames_of(line)]
    assert any(v.voiced for v in verdicts)
    assert not any(v.speech for v in verdicts)


def test_stationary_noise_raises_the_floor_and_speech_still_stands_out(spanish_recordings) -> None:  # type: ignore[no-untyped-def]
    speech = spanish_recordings["vm-goodbye"]
    line = padded(speech, 3000, 1000, noise_rms=400.0, seed=3)  # a loud hiss, about -38 dBFS
    vad = VoiceActivityDetector(RATE)
    verdicts = [vad.feed(f) for f in frames_of(line)]
    settled = verdicts[:150]  # from the first frame of hiss until the talker
    assert not any(v.speech for v in settled)
    assert vad.noise_floor_dbfs > -45.0
    assert any(v.speech for v in verdicts[150:])


def test_hangover_bridges_pauses_between_words() -> None:
    tone = np.round(8000 * np.sin(2 * np.pi * 300 * np.arange(RATE // 2) / RATE)).astype(np.int16)
    gap = np.zeros(RATE // 5, np.int16)  # 200 ms pause < 300 ms hangover
    line = padded(np.concatenate([tone, gap, tone]), 1000, 1000, noise_rms=10.0, seed=1)
    vad = VoiceActivityDetector(RATE)
    verdicts = [vad.feed(f) for f in frames_of(line)]
    assert sum(v.onset for v in verdicts) == 1
    assert sum(v.offset for v in verdicts) == 1


def test_bad_rate_is_refused() -> None:
    import pytest

    with pytest.raises(ValueError, match="positive"):
        VoiceActivityDetector(0)


def test_a_sweep_over_the_package_recordings(spanish_recordings) -> None:  # type: ignore[no-untyped-def]
    """A sweep over ~50 different prompts: no speech in the padding, speech where the talker is."""
    names = sorted(spanish_recordings)[::6]
    assert len(names) >= 45
    for seed, name in enumerate(names):
        speech = spanish_recordings[name]
        if speech.size < RATE // 4:
            continue
        start, end = speech_bounds_ms(speech)
        line = padded(speech, 1000, 1000, noise_rms=15.0, seed=100 + seed)
        vad = VoiceActivityDetector(RATE)
        flags = [vad.feed(f).speech for f in frames_of(line)]
        onset = flags.index(True) * 20 + 20
        assert not any(flags[: (1000 + start) // 20]), name
        assert onset - (1000 + start) <= 200, (name, onset, start)
        assert any(flags[(1000 + end) // 20 - 5 : (1000 + end) // 20]), name
