"""A ``CallLeg`` that records what passes through it, as it passes.

Wrapped around the carrier's leg for the whole call, so everything that talks to the
debtor through the worker is recorded: the bot's prompts, and during a bridged warm
transfer the agent's voice (the bridge sends it to the debtor through this leg) on the
bot's channel. Every far-end frame received is written with the bot's samples of the
same 20 ms (from ``PlaybackMirror``), so the file's timeline is the line's.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from voicebot.domain.pcm import FRAME_SAMPLES, Pcm
from voicebot.recording.mirror import PlaybackMirror
from voicebot.recording.writer import RecordingWriter
from voicebot.telephony.carrier import AudioIn, CallLeg, LineInput


@runtime_checkable
class CountsLineFrames(Protocol):
    """A leg whose line runs on its own (SIP, real-time simulation) says how far it has got."""

    @property
    def frames_received(self) -> int: ...


class RecordingLeg:
    """``CallLeg`` decorator: both directions into a ``RecordingWriter``."""

    def __init__(self, inner: CallLeg, writer: RecordingWriter) -> None:
        self.inner = inner
        self.writer = writer
        self.mirror = PlaybackMirror()
        self._frames_read = 0

    @property
    def call_id(self) -> str:
        return self.inner.call_id

    def _line_position(self) -> int:
        """Samples the line has produced: audio queued now starts playing there."""
        frames = self._frames_read
        if isinstance(self.inner, CountsLineFrames):
            frames = max(frames, self.inner.frames_received)
        return frames * FRAME_SAMPLES

    async def send_audio(self, pcm: Pcm) -> None:
        self.mirror.queue(np.asarray(pcm, dtype=np.int16), self._line_position())
        await self.inner.send_audio(pcm)

    def clear_audio(self) -> None:
        self.mirror.clear(self._line_position())
        self.inner.clear_audio()

    async def receive(self) -> LineInput:
        item = await self.inner.receive()
        if isinstance(item, AudioIn):
            far = np.asarray(item.frame, dtype=np.int16)
            self.writer.write(self.mirror.take(far.size), far)
            self._frames_read += 1
        return item

    async def hangup(self) -> None:
        await self.inner.hangup()

    def __getattr__(self, name: str) -> object:
        # Carrier-specific extras (a simulated leg's clock, a SIP leg's codec) stay reachable.
        return getattr(self.inner, name)
