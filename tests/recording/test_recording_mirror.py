"""The bot's channel: queued audio placed on the line's timeline, cut where playback was cleared."""

from __future__ import annotations

import numpy as np

from voicebot.recording.mirror import PlaybackMirror


def _ramp(start: int, count: int) -> np.ndarray:  # type: ignore[type-arg]
    return np.arange(start, start + count, dtype=np.int16)


def test_audio_plays_from_where_the_line_was_when_it_was_queued() -> None:
    mirror = PlaybackMirror()
    assert not mirror.take(160).any()  # nothing queued: silence
    mirror.queue(_ramp(1, 200), line_position=320)  # queued while the line was at sample 320
    assert not mirror.take(160).any()  # samples 160-319: still silence
    out = mirror.take(320)  # samples 320-639
    assert out[:200].tolist() == list(range(1, 201)) and not out[200:].any()


def test_prompts_queued_back_to_back_play_one_after_the_other() -> None:
    mirror = PlaybackMirror()
    mirror.queue(_ramp(1, 100), line_position=0)
    mirror.queue(_ramp(1000, 100), line_position=0)  # waits for the first one to end
    out = mirror.take(200)
    assert out[:100].tolist() == list(range(1, 101))
    assert out[100:].tolist() == list(range(1000, 1100))


def test_a_barge_in_drops_what_had_not_played_yet() -> None:
    mirror = PlaybackMirror()
    mirror.queue(_ramp(1, 1000), line_position=0)
    mirror.queue(_ramp(2000, 500), line_position=0)
    first = mirror.take(160)
    mirror.clear(line_position=300)  # the line was ahead of the recorder (unread frames)
    rest = mirror.take(400)
    assert first.tolist() == list(range(1, 161))
    assert rest[:140].tolist() == list(range(161, 301))  # 160-299 had played before the clear
    assert not rest[140:].any()
    assert mirror.play_end == 300
    mirror.queue(_ramp(5, 10), line_position=560)  # the next prompt starts where it is queued
    assert mirror.take(10).tolist() == list(range(5, 15))


def test_audio_queued_behind_the_reader_starts_at_the_reader() -> None:
    mirror = PlaybackMirror()
    mirror.take(480)
    mirror.queue(_ramp(1, 10), line_position=0)  # a line that reports no position of its own
    assert mirror.take(10).tolist() == list(range(1, 11))
