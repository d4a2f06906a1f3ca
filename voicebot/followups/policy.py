"""A campaign's messaging policy: which channel, which texts, the payment link, reminders.

Stored as the campaign's ``messaging`` JSON and read here once, so every rule downstream
gets checked values (a wrong key is an error when the policy is set, not a silent default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from voicebot.followups.broken_strategy import (
    BrokenPromiseStep,
    StrategyError,
    read_strategy,
    step_for,
)
from voicebot.followups.payment_link import LinkError, check_template
from voicebot.followups.texts import MESSAGE_VARIABLES, OPT_OUT_KEY
from voicebot.messaging.channel import TEXT_CHANNELS

REMINDER_MODES = ("call", "message", "both", "none")
KEYS = (
    "channel",
    "language",
    "link_template",
    "link_secret",
    "link_days_after_due",
    "reminder",
    "reminder_hour",
    "whatsapp_templates",
    "after_broken",
)


class PolicyError(ValueError):
    """A campaign messaging policy that cannot be used; names the key."""


@dataclass(frozen=True, slots=True)
class MessagingPolicy:
    channel: str = ""  # sms | whatsapp; "" : this campaign sends no messages
    language: str = "es"
    link_template: str = ""  # https://…/{token}; "" : messages carry no payment link
    link_secret: str = ""
    link_days_after_due: int = 3  # the link still works this many days after the promise date
    reminder: str = "call"  # the day before a promise: call | message | both | none
    reminder_hour: int = 10  # local hour of the reminder (compliance may defer it)
    # WhatsApp outside the 24-hour window needs Meta-approved templates: per message kind
    # (payment_link, reminder, …) the Twilio Content SID and the variables filling {{1}}, {{2}}…
    whatsapp_templates: Mapping[str, Any] = field(default_factory=dict)
    # After a broken promise, per debtor segment ("*": any other): text first or call, when,
    # at what priority (see broken_strategy).
    after_broken: Mapping[str, Any] = field(default_factory=dict)

    @property
    def sends(self) -> bool:
        return bool(self.channel)

    @property
    def reminder_message(self) -> bool:
        return self.sends and self.reminder in ("message", "both")

    @property
    def reminder_call(self) -> bool:
        return self.reminder in ("call", "both") or not self.sends

    def after_broken_step(self, segment: str) -> BrokenPromiseStep:
        """The segment's step after a broken promise (the policy was checked when set)."""
        return step_for(read_strategy(self.after_broken), segment)


def link_offer_channel(raw: Mapping[str, Any] | None) -> str:
    """The channel the bot offers the payment link on after a promise ("none": no offer).

    Only a campaign that sends texts and has a link template offers it; a policy that
    does not read (it is checked when set) offers nothing rather than failing the call.
    """
    try:
        policy = read_policy(raw)
    except PolicyError:
        return "none"
    return policy.channel if policy.sends and policy.link_template else "none"


def read_policy(raw: Mapping[str, Any] | None) -> MessagingPolicy:
    raw = raw or {}
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise PolicyError(f"unknown messaging keys {unknown} (known: {', '.join(KEYS)})")
    policy = MessagingPolicy(**raw)
    if policy.channel and policy.channel not in TEXT_CHANNELS:
        raise PolicyError(f"messaging.channel must be one of {', '.join(TEXT_CHANNELS)}")
    if policy.language not in ("es", "en"):
        raise PolicyError("messaging.language must be es or en")
    if policy.reminder not in REMINDER_MODES:
        raise PolicyError(f"messaging.reminder must be one of {', '.join(REMINDER_MODES)}")
    if not 0 <= int(policy.reminder_hour) <= 23:
        raise PolicyError("messaging.reminder_hour must be 0-23")
    if int(policy.link_days_after_due) < 0:
        raise PolicyError("messaging.link_days_after_due must not be negative")
    _check_templates(policy.whatsapp_templates)
    try:
        strategy = read_strategy(policy.after_broken)
    except StrategyError as exc:
        raise PolicyError(str(exc)) from exc
    texting = sorted(segment for segment, step in strategy.items() if step.texts)
    if texting and not policy.sends:
        raise PolicyError(
            f"messaging.after_broken: {', '.join(texting)} text first, "
            "but messaging.channel is empty"
        )
    if policy.link_template:
        try:
            check_template(policy.link_template)
        except LinkError as exc:
            raise PolicyError(f"messaging.link_template: {exc}") from exc
        if len(policy.link_secret) < 16:
            raise PolicyError("messaging.link_secret must be at least 16 characters")
    return policy


def _check_templates(templates: Mapping[str, Any]) -> None:
    if not isinstance(templates, Mapping):
        raise PolicyError("messaging.whatsapp_templates: a mapping kind → {sid, variables}")
    for kind, spec in templates.items():
        where = f"messaging.whatsapp_templates.{kind}"
        if not isinstance(spec, Mapping) or set(spec) != {"sid", "variables"}:
            raise PolicyError(f"{where}: expected {{sid: HX…, variables: [names]}}")
        if not str(spec["sid"]).startswith("HX"):
            raise PolicyError(f"{where}.sid: a Twilio Content SID (HX…)")
        names = spec["variables"]
        known = set(MESSAGE_VARIABLES) - {OPT_OUT_KEY}
        if not isinstance(names, list) or not set(map(str, names)) <= known:
            raise PolicyError(f"{where}.variables: names among {', '.join(sorted(known))}")
