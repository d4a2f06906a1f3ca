"""The recognizer interface the call engine uses; Vosk is the real implementation.

One model per process (shared by every call), one recognizer per call, reset
between turns: a fresh recognizer costs a slow first decode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from voicebot.actions import RecognitionHints
from voicebot.domain.pcm import Pcm


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    confidence: float
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class Recognition:
    """A final result for one turn.

    ``intent`` is filled when the text matched one of the state's keyword hints
    (phrase → intent), so keyword answers work in any language the model speaks.
    """

    text: str
    confidence: float
    words: tuple[Word, ...] = ()
    intent: str | None = None
    used_grammar: bool = False


class CallRecognizer(Protocol):
    """Streaming recognition for one call, one turn at a time."""

    def start_turn(self, hints: RecognitionHints) -> None:
        """Reset for a new turn and apply the state's hints (grammar when useful)."""

    def accept(self, pcm: Pcm) -> str:
        """Feed 8 kHz int16 audio; returns the current partial text (may be empty)."""

    def finish(self) -> Recognition:
        """End the turn and return the final result."""


class SpeechModel(Protocol):
    """A loaded acoustic model, shared across calls in a process."""

    def new_call(self) -> CallRecognizer: ...
