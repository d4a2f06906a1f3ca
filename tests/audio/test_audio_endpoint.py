"""Endpointing timing on padded real recordings: end of speech, max length, no input."""

from __future__ import annotations

import numpy as np
from audio_signals import RATE, frames_of, padded, speech_bounds_ms

from voicebot.audio.endpoint import (
    Endpointer,
    EndpointSettings,
    EndReason,
    SpeechEnded,
    SpeechStarted,
)

SHORT = [
    "auth-thankyou",
    "vm-goodbye",
    "agent-loginok",
    "vm-deleted",
    "conf-errormenu",
    "vm-no",
    "vm-yes",
]


def _events(pcm: np.ndarray, settings: EndpointSettings) -> list[SpeechStarted | SpeechEnded]:  # type: ignore[type-arg]
    endpointer = Endpointer(RATE, settings)
    found: list[SpeechStarted | SpeechEnded] = []
    for frame in frames_of(pcm):
        event = endpointer.feed(frame)
        if event is not None:
            found.append(event)
    return found


def test_end_of_speech_is_found_within_the_trailing_silence_of_the_true_end(
    spanish_recordings,
) -> None:  # type: ignore[no-untyped-def]
    lead = 1000
    for trailing in (300, 500, 800):
        settings = EndpointSettings(trailing_silence_ms=trailing)
        for seed, name in enumerate(n for n in SHORT if n in spanish_recordings):
            speech = spanish_recordings[name]
            start, end = speech_bounds_ms(speech)
            found = _events(padded(speech, lead, 2000, noise_rms=20.0, seed=seed), settings)
            assert [type(e) for e in found] == [SpeechStarted, SpeechEnded], name
            started, ended = found
            assert isinstance(started, SpeechStarted) and isinstance(ended, SpeechEnded)
            assert ended.reason is EndReason.SILENCE
            assert abs(started.start_ms - (lead + start)) <= 100, name
            assert abs(ended.end_ms - (lead + end)) <= 250, name
            # The decision comes trailing_silence after the last voiced frame, give or take a frame.
            assert ended.at_ms - ended.end_ms == trailing, name
            assert ended.at_ms - (lead + end) <= trailing + 100, name


def test_no_input_after_the_timeout_when_nobody_speaks() -> None:
    silence = padded(np.zeros(RATE * 4, np.int16), 0, 0, noise_rms=20.0, seed=5)
    found = _events(silence, EndpointSettings(no_input_ms=2500))
    assert len(found) == 1
    assert isinstance(found[0], SpeechEnded)
    assert found[0].reason is EndReason.NO_INPUT
    assert found[0].at_ms == 2500


def test_no_input_timer_counts_from_arm() -> None:
    endpointer = Endpointer(RATE, EndpointSettings(no_input_ms=1000))
    endpointer.disarm()
    frame = np.zeros(160, np.int16)
    assert all(endpointer.feed(frame) is None for _ in range(100))  # 2 s of prompt playing
    endpointer.arm()
    results = [endpointer.feed(frame) for _ in range(50)]
    assert isinstance(results[-1], SpeechEnded) and results[-1].reason is EndReason.NO_INPUT
    assert results[-1].at_ms == 3000


def test_a_long_monologue_is_cut_at_max_length(spanish_recordings) -> None:  # type: ignore[no-untyped-def]
    speech = spanish_recordings["conf-adminmenu"]  # ~26 s of menu
    found = _events(
        padded(speech, 500, 500, 20.0, 1),
        EndpointSettings(trailing_silence_ms=1500, max_utterance_ms=8000),
    )
    started, ended = found
    assert isinstance(started, SpeechStarted) and isinstance(ended, SpeechEnded)
    assert ended.reason is EndReason.MAX_LENGTH
    assert ended.at_ms - started.start_ms == 8000


def test_a_shared_detector_keeps_the_line_noise_floor_across_turns(spanish_recordings) -> None:  # type: ignore[no-untyped-def]
    from voicebot.audio.vad import VoiceActivityDetector

    hiss = padded(np.zeros(RATE * 2, np.int16), 0, 0, noise_rms=300.0, seed=8)
    vad = VoiceActivityDetector(RATE)
    first = Endpointer(RATE, EndpointSettings(), vad=vad)
    for frame in frames_of(hiss):
        first.feed(frame)
    learned = vad.noise_floor_dbfs
    assert learned > -45.0
    second = Endpointer(RATE, EndpointSettings(), vad=vad)  # next turn, same line
    assert vad.noise_floor_dbfs == learned
    speech = padded(spanish_recordings["vm-goodbye"], 500, 1000, noise_rms=300.0, seed=9)
    found = [e for e in (second.feed(f) for f in frames_of(speech)) if e is not None]
    assert [type(e) for e in found] == [SpeechStarted, SpeechEnded]


def test_resume_keeps_listening_with_the_same_timer() -> None:
    endpointer = Endpointer(RATE, EndpointSettings(no_input_ms=3000, trailing_silence_ms=300))
    tone = np.round(8000 * np.sin(2 * np.pi * 300 * np.arange(RATE // 2) / RATE)).astype(np.int16)
    line = padded(np.concatenate([np.zeros(RATE // 2, np.int16), tone]), 0, 1000, 10.0, 4)
    events = [e for e in (endpointer.feed(f) for f in frames_of(line)) if e is not None]
    assert isinstance(events[-1], SpeechEnded) and events[-1].reason is EndReason.SILENCE
    endpointer.resume()  # the recognizer heard nothing in it
    silence = padded(np.zeros(RATE * 2, np.int16), 0, 0, 10.0, 5)
    later = [e for e in (endpointer.feed(f) for f in frames_of(silence)) if e is not None]
    assert len(later) == 1 and isinstance(later[0], SpeechEnded)
    assert later[0].reason is EndReason.NO_INPUT and later[0].at_ms == 3000
