"""The text-to-speech interface: Spanish text in, 8 kHz line audio out."""

from __future__ import annotations

from typing import Protocol

from voicebot.domain.pcm import Pcm


class Synthesizer(Protocol):
    def synthesize(self, text: str) -> Pcm:
        """Render ``text`` as 8 kHz mono int16 audio. Raises on engine failure."""
