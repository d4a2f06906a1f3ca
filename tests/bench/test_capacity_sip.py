"""The SIP capacity bench's reading of a call from a phone's dumps, and its debtors' scripts.

Every signal here is synthesized: 20 ms frames of a tone where someone speaks, zeros or
low noise elsewhere.
"""

from __future__ import annotations

import importlib
import math
import struct
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt

from testbeds.sip import write_wav

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
sip = importlib.import_module("capacity_sip")

RATE = 8000


def line(ms: int, *voiced: tuple[int, int], noise: float = 0.0) -> npt.NDArray[np.int16]:
    """``ms`` of audio with a 440 Hz tone over each ``(start_ms, end_ms)``, over white noise."""
    pcm = np.random.default_rng(0).normal(0.0, noise, ms * RATE // 1000)
    t = np.arange(len(pcm)) / RATE
    for start, end in voiced:
        a, b = start * RATE // 1000, end * RATE // 1000
        pcm[a:b] += 6000 * np.sin(2 * np.pi * 440 * t[a:b])
    return np.clip(np.round(pcm), -32768, 32767).astype(np.int16)


def test_voiced_runs_close_short_gaps_and_drop_clicks() -> None:
    voiced = np.array([1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1], dtype=bool)
    assert sip.voiced_runs(voiced) == [(0, 2), (4, 7), (11, 12), (13, 14)]
    assert sip.voiced_runs(voiced, bridge=2) == [(0, 7), (11, 14)]
    assert sip.voiced_runs(voiced, shortest=2) == [(0, 2), (4, 7)]
    assert sip.voiced_runs(np.zeros(5, dtype=bool)) == []


def test_a_call_reads_as_greeting_and_the_turn_after_the_debtors_answer() -> None:
    # The bot greets from 100 ms to 5000 ms and answers at 7860 ms; the debtor said "네"
    # from 7000 ms to 7500 ms. The phone heard 40 ms less than it sent (dec started late).
    dec = line(15_960, (100, 5000), (7860, 12000), noise=30)
    enc = line(16_000, (7000, 7500), noise=60)
    reading = sip.read_call(dec, enc)
    assert reading.greeting_ms == 100
    assert reading.turn_ms == (360,)
    assert reading.overlapped == 0
    assert reading.shift_ms == 40


def test_an_answer_the_bot_spoke_over_is_overlapped_not_a_turn() -> None:
    # A late greeting (1500-7600 ms) still playing when the debtor answered at 7000 ms.
    dec = line(16_000, (1500, 7600), (8200, 12000))
    enc = line(16_000, (7000, 7500))
    reading = sip.read_call(dec, enc)
    assert reading.greeting_ms == 1500
    assert reading.turn_ms == ()
    assert reading.overlapped == 1


def test_an_answer_never_replied_to_waits_forever_and_a_mute_bot_never_greets() -> None:
    reading = sip.read_call(line(16_000, (100, 5000)), line(16_000, (7000, 7500)))
    assert reading.turn_ms == (math.inf,)
    mute = sip.read_call(line(16_000), line(16_000, (7000, 7500)))
    assert mute.greeting_ms is None and mute.turn_ms == (math.inf,)


def test_a_click_is_not_the_bot_speaking_and_a_short_pause_does_not_split_an_answer() -> None:
    dec = line(16_000, (300, 320), (1000, 5000), (7900, 9000))  # a one-frame click at 300 ms
    enc = line(16_000, (7000, 7200), (7400, 7600))  # two syllables 200 ms apart: one answer
    reading = sip.read_call(dec, enc)
    assert reading.greeting_ms == 1000
    assert reading.turn_ms == (300,)


def test_the_script_answers_after_the_greeting_room_and_hangs_up_after_the_reply() -> None:
    script = sip.plan_script(answer_s=0.5, greeting_s=5.0, next_prompt_s=6.0)
    assert script.answer_at_s == 5.0 + sip.GREETING_ROOM_S
    assert script.answer_end_s == script.answer_at_s + 0.5
    assert script.length_s == script.answer_end_s + sip.TURN_ROOM_S + 6.0 + sip.HANGUP_ROOM_S
    answer = line(500, (0, 500))
    pcm = sip.script_audio(script, answer, noise_dbfs=-45.0, seed=1)
    assert len(pcm) == round(script.length_s * RATE)
    [(start, end)] = sip.voiced_runs(sip.voiced_frames(pcm))
    assert (start * 20, end * 20) == (round(script.answer_at_s * 1000), 6800)


def test_the_longest_idle_phone_is_dialled_and_never_twice_in_one_second() -> None:
    last = dict.fromkeys(["a", "b"], -math.inf)
    assert sip.next_phone(last, 100.0) == ("a", 0.0)
    last["a"] = 100.0
    assert sip.next_phone(last, 100.0) == ("b", 0.0)
    last["b"] = 100.5
    assert sip.next_phone(last, 101.0) == ("a", 0.5)  # a was dialled 1 s ago: wait
    assert sip.next_phone(last, 103.0) == ("a", 0.0)


def test_a_dump_is_read_only_once_baresip_has_closed_it(tmp_path: Path) -> None:
    samples = line(100, (0, 100))
    closed = write_wav(tmp_path / "dump-2026-12-02-11-17-36-dec.wav", samples.tobytes())
    assert np.array_equal(sip.read_dump(closed), samples)
    # While the call is up, libsndfile's header says RIFF size 8 and an empty data chunk.
    header = bytearray(closed.read_bytes()[:44])
    header[4:8] = struct.pack("<I", 8)
    header[40:44] = struct.pack("<I", 0)
    still_open = tmp_path / "dump-2026-12-02-11-17-36-enc.wav"
    still_open.write_bytes(bytes(header) + samples.tobytes())
    assert sip.read_dump(still_open) is None


def test_dumps_pair_by_their_start_second(tmp_path: Path) -> None:
    for name in ("11-17-37-enc", "11-17-36-dec", "11-17-36-enc", "11-17-37-dec", "11-17-38-dec"):
        (tmp_path / f"dump-2026-12-02-{name}.wav").write_bytes(b"")
    pairs = sip.dump_pairs(tmp_path)
    assert [(d.name[-13:], e.name[-13:]) for d, e in pairs] == [
        ("17-36-dec.wav", "17-36-enc.wav"),
        ("17-37-dec.wav", "17-37-enc.wav"),
    ]
