"""What the dialog asks the call engine to do. Produced by ``dialog.machine.step``.

Record actions (promise, callback, opt-out, phone invalid, disposition) are
emitted the moment they are decided so the engine can persist them before the
call ends: a crash mid-call must not lose an opt-out already heard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from voicebot.domain.outcome import CallOutcome, Disposition, Promise, Turn


class ListenMode(StrEnum):
    SPEECH = "speech"
    DTMF = "dtmf"
    BOTH = "both"


@dataclass(frozen=True, slots=True)
class RecognitionHints:
    """What the recognizer should expect in a state.

    ``phrases`` feed a restricted-vocabulary grammar; ``keywords`` map a
    recognized phrase straight to an intent (works in any language the model
    speaks); ``expect`` names entity kinds ("yes_no", "amount", "date", "digits").
    """

    phrases: tuple[str, ...] = ()
    keywords: tuple[tuple[str, str], ...] = ()  # (phrase, intent)
    expect: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Say:
    prompt: str  # prompt key, e.g. "disclosure"
    text: str  # rendered Spanish text
    barge_in: bool = True
    discloses_debt: bool = False


@dataclass(frozen=True, slots=True)
class Listen:
    mode: ListenMode
    timeout_s: float
    hints: RecognitionHints = field(default_factory=RecognitionHints)
    max_digits: int = 0  # for DTMF collection; 0 = single key or speech


@dataclass(frozen=True, slots=True)
class TransferContext:
    """What the agent sees before being connected (screen pop)."""

    reason: str
    debtor_name: str
    summary: str
    transcript: tuple[str, ...]
    promise_attempts: tuple[str, ...] = ()
    turns: tuple[Turn, ...] = ()  # the same transcript, structured, for the agent desk/API
    verified: bool = False  # the debtor passed identity verification before the transfer


@dataclass(frozen=True, slots=True)
class Transfer:
    reason: str
    context: TransferContext
    timeout_s: float = 45.0


@dataclass(frozen=True, slots=True)
class RecordDisposition:
    disposition: Disposition


@dataclass(frozen=True, slots=True)
class RecordPromise:
    promise: Promise


@dataclass(frozen=True, slots=True)
class ScheduleCallback:
    at: datetime


@dataclass(frozen=True, slots=True)
class OptOut:
    reason: str = "debtor_request"


@dataclass(frozen=True, slots=True)
class MarkPhoneInvalid:
    reason: str = "wrong_number"


@dataclass(frozen=True, slots=True)
class CallerIdentified:
    """Inbound: the caller is this debtor (found by caller ID or document; not yet verified)."""

    debtor_ref: str


@dataclass(frozen=True, slots=True)
class EndCall:
    """Hang up (if still up) and report the final outcome."""

    outcome: CallOutcome


Action = (
    Say
    | Listen
    | Transfer
    | RecordDisposition
    | RecordPromise
    | ScheduleCallback
    | OptOut
    | MarkPhoneInvalid
    | CallerIdentified
    | EndCall
)
