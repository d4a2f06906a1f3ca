"""One small interface for every text channel, like the carrier protocol is for calls.

A channel only moves one message and says what became of it; what to send, when, and
whether it is lawful is decided above (``voicebot.followups``) and the sending loop
(``voicebot.engine.message_sender``) records every result. The three failure kinds matter
to that loop: a *transient* refusal is retried, a *permanent* one is not, and an
*ambiguous* one (the request may have reached the provider) is never sent again, because a
debtor texted twice is a harm and a lost message is only a delay.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

TEXT_CHANNELS = ("sms", "whatsapp")


class Failure(StrEnum):
    TRANSIENT = "transient"  # certainly not accepted: send again later
    PERMANENT = "permanent"  # refused for good (bad number, unsubscribed): do not retry
    AMBIGUOUS = "ambiguous"  # may have been accepted: never send again


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    channel: str  # sms | whatsapp
    to: str  # E.164
    body: str
    status_callback: str = ""  # where delivery statuses go ("" : none)
    template_sid: str = ""  # WhatsApp outside the 24-hour window: an approved template
    template_variables: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.channel not in TEXT_CHANNELS:
            raise ValueError(f"channel must be one of {', '.join(TEXT_CHANNELS)}: {self.channel!r}")
        if not self.to.startswith("+") or not self.to[1:].isdigit():
            raise ValueError(f"recipient must be an E.164 number: {self.to!r}")
        if not self.body.strip() and not self.template_sid:
            raise ValueError("a message needs a body or a template")


@dataclass(frozen=True, slots=True)
class Accepted:
    provider_id: str  # e.g. Twilio's MessageSid
    status: str  # the provider's first status: queued, accepted, sent, ...


class SendError(Exception):
    def __init__(self, failure: Failure, reason: str, code: str = "") -> None:
        super().__init__(reason)
        self.failure = failure
        self.reason = reason
        self.code = code  # the provider's error code, when it gave one


class MessageChannel(Protocol):
    name: str  # what the store records as the channel's provider

    def send(self, message: OutgoingMessage) -> Accepted:
        """Hand one message to the provider; raises SendError saying which failure kind."""
        ...
