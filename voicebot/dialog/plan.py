"""The dialplan model: typed, frozen, validated; what the dialog machine runs.

Built only by ``plan_loader`` (YAML in, this plan out, or every mistake with its YAML path).

The file's rules, stated once:
- A state does one of four things after saying its prompts: ``listen`` (then follows
  ``on`` transitions), ``next`` (decides at once), ``transfer`` (waits for the agent
  leg), or ``end`` (hangs up with a disposition). A state with none is a dead end.
- Transitions are matched in two passes: first those with a specific trigger
  (an intent, a DTMF key, an event) — the state's own, then its group's (``groups``),
  then the plan's ``defaults.on``; then the catch-alls (``intent: any``, ``dtmf: any``)
  in the same order. So "no me llamen más" is honored even in a state that records
  any answer, and "ya pagué" in every state of a group that shares it.
- A group (``groups.NAME: {states: [...], on: [...]}``) lists its member states and
  the transitions they share, declared once; a state belongs to at most one group.
- ``hold_claim`` keeps what was just said (intent and entities) for later; a state
  with ``resume_held: true`` answers a held utterance right after its prompts, as if
  it had just been said there. So a claim made before verification is acted on after
  it without disclosing anything early.
- Conditions and actions are a closed vocabulary (below); references name
  ``entity.*`` (what was just understood), ``slot.*`` (what the call remembers),
  ``limits.*`` (creditor terms), ``debt.*``, ``settings.*`` and ``call.*``.
- A prompt that mentions the debt (``{debt.*}``, ``{creditor}``, collection words,
  or ``discloses: true``) must be unreachable before a ``flag: right_party``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from voicebot.actions import ListenMode
from voicebot.domain.outcome import Disposition

EVENTS = (
    "no_input",  # handled by reprompting until max_no_input; a transition may override
    "max_no_input",
    "max_no_match",
    "transfer_failed",
    "transfer_completed",
)
EXPECT_KINDS = ("yes_no", "amount", "date", "time", "digits", "free")
SETTING_TYPES = (bool, int, str)

ENTITY_FIELDS = (
    "amount",
    "date",
    "callback_at",
    "digits",
    "instalments",
    "full_balance",
    "intent",
    "text",
    "channel",
    "clock",
)
LIMIT_FIELDS = (
    "min_payment",
    "max_days_ahead",
    "max_instalments",
    "min_instalment",
    "latest_date",  # today + max_days_ahead
)
DEBT_FIELDS = ("total", "days_past_due", "pending_promise", "pending_callback")
# inbound: the call's direction is inbound; caller_match: "one", "several" or "unknown" debtors
# on the caller ID; identified: the debtor is known (by caller ID or by document), not verified.
CALL_FIELDS = ("right_party", "disclosed", "inbound", "caller_match", "identified")
# Slots the built-in actions fill; ``set``/``increment`` may add others.
BUILTIN_SLOTS = (
    "promise_amount",
    "promise_date",
    "promise_instalments",
    "callback_at",
    "callback_date",
    "offer_instalments",
    "offer_instalment_amount",
    "last_text",
    "held_intent",
    "callback_scheduled",  # schedule_callback: the time settled, said or default
    "callback_clock",  # a time of day said after the day (with slot.callback_date)
    "wanted_instalments",  # how many instalments the debtor asked for
    "paid_date",  # record_paid: what the debtor said about a payment already made
    "paid_channel",
    "paid_amount",
    "paid_text",
    "identify_failures",  # identify: documents given that found no one debtor
)

PROMPT_VARIABLES = {
    "greeting": False,
    "company": False,
    "callback_number": False,
    "debtor.full_name": False,
    "debtor.first_name": False,
    "debtor.treatment": False,
    "document_digits": False,
    "promise.amount": False,
    "promise.date": False,
    "promise.instalments": False,
    "callback.when": False,
    "callback.day": False,
    "offer.instalments": False,
    "offer.instalment_amount": False,
    "limits.min_payment": False,
    "limits.latest_date": False,
    # These reveal the debt: allowed only after right-party verification.
    "creditor": True,
    "debt.amount": True,
    "debt.days_past_due": True,
    "debt.product": True,
    # A pending promise names the debt too (its amount and day).
    "pending.amount": True,
    "pending.date": True,
    "pending.instalments": True,
    "pending.callback": True,
}
VARIABLE_PATTERN = re.compile(r"\{([a-z_.]+)\}")
# Words that reveal a collection purpose even without a variable.

CONDITION_KEYS = (
    "present",
    "absent",
    "is",
    "not",
    "lt",
    "le",
    "gt",
    "ge",
    "eq",
    "within_days",
    "matches_document",
)
ACTION_KEYS = (
    "set",
    "clear",
    "increment",
    "flag",
    "disposition",
    "record_promise",
    "schedule_callback",
    "opt_out",
    "mark_phone_invalid",
    "record_dispute",
    "record_paid",
    "compute_offer",
    "accept_offer",
    "hold_claim",
    "identify",  # inbound: find the caller by the document just given (entity.digits)
    "request_link",  # the debtor's answer to the payment-link offer: {request_link: true|false}
)
FLAGS = ("right_party",)


class DialplanError(Exception):
    """A dialplan that cannot run; ``problems`` lists every mistake found."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(p.render(source) for p in problems))


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    message: str
    line: int | None = None

    def render(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line else source
        return f"{where}: {self.path}: {self.message}"


# ---------------------------------------------------------------- typed plan


@dataclass(frozen=True, slots=True)
class Ref:
    """A dotted reference such as ``slot.promise_amount``."""

    namespace: str
    name: str


Operand = Ref | Decimal | int | str | bool


@dataclass(frozen=True, slots=True)
class Condition:
    op: str  # one of CONDITION_KEYS
    args: tuple[Operand, ...]


@dataclass(frozen=True, slots=True)
class Step:
    """One action of a ``do`` list."""

    op: str  # one of ACTION_KEYS
    args: tuple[tuple[str, Operand], ...] = ()


@dataclass(frozen=True, slots=True)
class Transition:
    intents: tuple[str, ...] = ()  # ("any",) for the catch-all
    dtmf: str | None = None  # a key sequence or "any"
    event: str | None = None
    when: tuple[Condition, ...] = ()
    do: tuple[Step, ...] = ()
    say: tuple[str, ...] = ()
    goto: str | None = None
    repeat: bool = False
    path: str = ""

    @property
    def is_catch_all(self) -> bool:
        return self.intents == ("any",) or self.dtmf == "any"


@dataclass(frozen=True, slots=True)
class Branch:
    when: tuple[Condition, ...]
    goto: str
    path: str = ""


@dataclass(frozen=True, slots=True)
class SayItem:
    prompt: str
    when: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class Hints:
    phrases: tuple[str, ...] = ()
    keywords: tuple[tuple[str, str], ...] = ()
    expect: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ListenSpec:
    mode: ListenMode
    timeout_s: float
    max_digits: int
    hints: Hints


@dataclass(frozen=True, slots=True)
class State:
    name: str
    say: tuple[SayItem, ...] = ()
    do: tuple[Step, ...] = ()
    listen: ListenSpec | None = None
    on: tuple[Transition, ...] = ()
    next: tuple[Branch, ...] = ()
    transfer_reason: str | None = None
    transfer_timeout_s: float = 45.0
    end: bool = False
    end_disposition: Disposition | None = None
    reprompt: str | None = None
    group: str | None = None  # the group whose shared transitions this state also follows
    resume_held: bool = False  # answer a held utterance right after the prompts


@dataclass(frozen=True, slots=True)
class Group:
    """States that share transitions, declared once (``groups.NAME``)."""

    name: str
    states: tuple[str, ...]
    on: tuple[Transition, ...]
    path: str = ""


@dataclass(frozen=True, slots=True)
class Prompt:
    key: str
    text: str
    discloses: bool
    variables: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Dialplan:
    name: str
    language: str
    start: str
    states: dict[str, State]
    prompts: dict[str, Prompt]
    settings: dict[str, bool | int | str]
    default_on: tuple[Transition, ...]
    max_no_input: int
    max_no_match: int
    no_input_prompt: str | None
    no_match_prompt: str | None
    source: str = ""
    prompts_source: str = ""
    extras: dict[str, Any] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)

    def transitions(self, state: State) -> tuple[Transition, ...]:
        """What a state follows, in matching order: its own, its group's, then the defaults.

        Only a listening state follows its group's and the defaults' transitions; a transfer
        state reacts to its own events alone.
        """
        if state.listen is None:
            return state.on
        group = self.groups.get(state.group) if state.group else None
        return (*state.on, *(group.on if group else ()), *self.default_on)

    def with_settings(self, overrides: dict[str, bool | int | str]) -> Dialplan:
        """The same plan with campaign-level settings applied (unknown names rejected)."""
        unknown = sorted(set(overrides) - set(self.settings))
        if unknown:
            raise DialplanError(
                self.source, [Problem(f"settings.{k}", "unknown setting") for k in unknown]
            )
        merged = {**self.settings, **overrides}
        return Dialplan(**{**_fields(self), "settings": merged})

    def static_prompts(self) -> list[Prompt]:
        """Prompts with no variables: what a campaign pre-renders at launch."""
        return [p for p in self.prompts.values() if not p.variables]


def _fields(plan: Dialplan) -> dict[str, Any]:
    return {name: getattr(plan, name) for name in plan.__dataclass_fields__}
