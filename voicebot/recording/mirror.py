"""The bot's side of the recording: what was queued for playback, placed on the line's timeline.

A carrier plays queued audio at line rate and drops what is left on barge-in; the
recorder cannot read the carrier's playout, so it keeps a mirror of it. Audio queued
at line position ``p`` (samples the line has produced so far) starts playing at ``p``
or when the audio queued before it ends, whichever is later; a clear at ``p`` drops
everything scheduled from ``p`` on. Pure bookkeeping, no I/O: the recorder asks for
the bot's samples of each far-end frame as it writes it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from voicebot.domain.pcm import Pcm


@dataclass(slots=True)
class _Segment:
    start: int  # line sample where it starts playing
    pcm: Pcm

    @property
    def end(self) -> int:
        return self.start + int(self.pcm.size)


class PlaybackMirror:
    """The bot's queued audio as a sparse track on the line's sample timeline."""

    def __init__(self) -> None:
        self._segments: deque[_Segment] = deque()
        self._play_end = 0  # where the last queued audio ends
        self._read = 0  # samples handed out so far

    @property
    def play_end(self) -> int:
        return self._play_end

    def queue(self, pcm: Pcm, line_position: int) -> None:
        """``pcm`` was handed to the carrier when the line had produced ``line_position`` samples."""
        if pcm.size == 0:
            return
        start = max(self._play_end, line_position, self._read)
        self._segments.append(_Segment(start, np.asarray(pcm, dtype=np.int16)))
        self._play_end = start + int(pcm.size)

    def clear(self, line_position: int) -> None:
        """Playback was dropped at ``line_position``: what was scheduled after it never played."""
        cut = max(line_position, self._read)
        kept: deque[_Segment] = deque()
        for segment in self._segments:
            if segment.start >= cut:
                continue
            if segment.end > cut:
                segment = _Segment(segment.start, segment.pcm[: cut - segment.start])
            kept.append(segment)
        self._segments = kept
        self._play_end = min(self._play_end, cut)

    def take(self, count: int) -> Pcm:
        """The bot's next ``count`` samples (silence where nothing played)."""
        out = np.zeros(count, dtype=np.int16)
        begin, end = self._read, self._read + count
        while self._segments and self._segments[0].start < end:
            segment = self._segments[0]
            lo, hi = max(segment.start, begin), min(segment.end, end)
            if hi > lo:
                out[lo - begin : hi - begin] = segment.pcm[lo - segment.start : hi - segment.start]
            if segment.end <= end:
                self._segments.popleft()
            else:
                break
        self._read = end
        return out
