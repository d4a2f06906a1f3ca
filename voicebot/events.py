"""What comes into a call: the dialog machine's only inputs.

Every event carries the instant it happened (``at``, timezone-aware) so that the
machine stays pure: it never reads a clock, the call engine stamps events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Answered:
    """The far end picked up (or the simulated call began): the dialog starts."""

    at: datetime


@dataclass(frozen=True, slots=True)
class Utterance:
    """Something the debtor said, as text (from ASR or the simulated text channel).

    ``intent`` is set when the recognizer already mapped the words to an intent
    through the state's keyword hints (e.g. a grammar answer "네" → affirm); the
    machine then trusts it instead of running the Spanish NLU.
    """

    at: datetime
    text: str
    confidence: float = 1.0
    intent: str | None = None


@dataclass(frozen=True, slots=True)
class Dtmf:
    """Digits the debtor keyed (RFC 4733 events or in-band), already collected."""

    at: datetime
    digits: str


@dataclass(frozen=True, slots=True)
class NoInput:
    """The listen timeout expired without speech or digits."""

    at: datetime


@dataclass(frozen=True, slots=True)
class Hangup:
    """The far end hung up (or the line dropped)."""

    at: datetime


@dataclass(frozen=True, slots=True)
class TransferFailed:
    """No agent took the warm transfer within its timeout."""

    at: datetime
    reason: str = "no_agent_available"


@dataclass(frozen=True, slots=True)
class TransferCompleted:
    """An agent accepted the transfer: the bot leaves the call."""

    at: datetime
    agent: str = ""


Event = Answered | Utterance | Dtmf | NoInput | Hangup | TransferFailed | TransferCompleted
