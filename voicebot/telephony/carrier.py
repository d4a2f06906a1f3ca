"""The one small interface every carrier implements: SIP, Twilio, the simulated line.

Invariant at this edge: audio crosses as 8 kHz mono int16 numpy frames of 20 ms
(160 samples). Codecs (G.711, pyVoIP's 8-bit unsigned) are converted inside the
carrier, never above it.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Protocol

from voicebot.domain.outcome import Disposition
from voicebot.domain.pcm import Pcm


@dataclass(frozen=True, slots=True)
class DialFailure:
    """The call never reached a conversation."""

    disposition: Disposition  # NA, BUSY or FAIL
    status: int | None = None  # SIP status or carrier error code
    reason: str = ""


@dataclass(frozen=True, slots=True)
class AudioIn:
    frame: Pcm  # 160 samples at 8 kHz


@dataclass(frozen=True, slots=True)
class DigitIn:
    digit: str  # "0"-"9", "*", "#"


@dataclass(frozen=True, slots=True)
class FarEndHangup:
    pass


@dataclass(frozen=True, slots=True)
class HoldChanged:
    """The far end put the call on hold (``held``) or took it off; the bot pauses meanwhile."""

    held: bool


LineInput = AudioIn | DigitIn | FarEndHangup | HoldChanged


class CallLeg(Protocol):
    """One answered call. Methods never block the event loop."""

    @property
    def call_id(self) -> str: ...

    async def send_audio(self, pcm: Pcm) -> None:
        """Queue 8 kHz int16 audio for playback (any length)."""

    def clear_audio(self) -> None:
        """Drop queued playback at once (barge-in)."""

    async def receive(self) -> LineInput:
        """The next 20 ms of the debtor's audio, a DTMF digit, a hold change or the hangup."""

    async def hangup(self) -> None: ...


class Carrier(Protocol):
    async def dial(
        self, number: str, *, caller_id: str | None = None, ring_timeout_s: float = 30.0
    ) -> CallLeg | DialFailure: ...


@dataclass(frozen=True, slots=True)
class IncomingCall:
    """A call someone placed to us (the callback number), already answered."""

    leg: CallLeg
    caller_id: str  # as the network presented it ("" or "anonymous" when withheld)
    called: str  # the number or extension that was called


IncomingHandler = Callable[[IncomingCall], Coroutine[None, None, None]]


class Answerer(Protocol):
    """A carrier that answers calls: each answered call is handed to ``handler`` (its own task)."""

    def answer_incoming(self, handler: IncomingHandler) -> None: ...
