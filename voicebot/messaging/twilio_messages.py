"""Twilio Programmable Messaging (SMS and WhatsApp) over its REST API, and its webhooks' forms.

The wire format is the documented one (https://www.twilio.com/docs/messaging/api/message-resource):
``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` with form fields ``To``, ``From``,
``Body`` (or ``ContentSid`` + ``ContentVariables`` for a WhatsApp template) and
``StatusCallback``, HTTP basic auth with the account SID and auth token. WhatsApp numbers
carry the ``whatsapp:`` prefix. Status callbacks and inbound messages are signed with
``X-Twilio-Signature`` (HMAC-SHA1 of the URL and the sorted form fields): nothing in them is
believed before the signature holds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from twilio.request_validator import RequestValidator

from voicebot.messaging.channel import Accepted, Failure, OutgoingMessage, SendError

API_BASE = "https://api.twilio.com"
API_VERSION = "2010-04-01"
SIGNATURE_HEADER = "X-Twilio-Signature"
# Where the API receives Twilio's webhooks (api/routes/messaging.py).
STATUS_PATH = "/messaging/twilio/status"
INBOUND_PATH = "/messaging/twilio/inbound"
# Keywords Twilio itself answers on SMS (Advanced Opt-Out): no second confirmation from us.
TWILIO_KEYWORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit"})
DELIVERY_STATUSES = (
    "accepted",
    "scheduled",
    "queued",
    "sending",
    "sent",
    "delivered",
    "read",
    "undelivered",
    "failed",
    "canceled",
)
# Nothing reached Twilio: safe to try again. Any other transport error may have.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def _address(channel: str, number: str) -> str:
    return f"whatsapp:{number}" if channel == "whatsapp" else number


def strip_address(address: str) -> tuple[str, str]:
    """(channel, E.164) of a Twilio address: ``whatsapp:+57…`` or ``+57…``."""
    if address.startswith("whatsapp:"):
        return "whatsapp", address.removeprefix("whatsapp:")
    return "sms", address


@dataclass
class TwilioMessaging:
    account_sid: str
    auth_token: str
    from_number: str  # E.164; the same number is used with the whatsapp: prefix
    http_client: httpx.Client
    base_url: str = API_BASE
    name: str = "twilio"

    def form(self, message: OutgoingMessage) -> dict[str, str]:
        fields = {
            "To": _address(message.channel, message.to),
            "From": _address(message.channel, self.from_number),
        }
        if message.template_sid:
            fields["ContentSid"] = message.template_sid
            fields["ContentVariables"] = json.dumps(dict(message.template_variables))
        else:
            fields["Body"] = message.body
        if message.status_callback:
            fields["StatusCallback"] = message.status_callback
        return fields

    def send(self, message: OutgoingMessage) -> Accepted:
        url = f"{self.base_url}/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"
        try:
            response = self.http_client.post(
                url, data=self.form(message), auth=(self.account_sid, self.auth_token)
            )
        except _NOT_SENT as exc:
            raise SendError(Failure.TRANSIENT, f"{type(exc).__name__}: {exc}") from exc
        except httpx.HTTPError as exc:
            raise SendError(Failure.AMBIGUOUS, f"{type(exc).__name__}: {exc}") from exc
        return _accepted(response)


def _accepted(response: httpx.Response) -> Accepted:
    try:
        document = response.json()
    except ValueError:
        document = {}
    if not isinstance(document, dict):
        document = {}
    if response.status_code == 201 and document.get("sid"):
        return Accepted(str(document["sid"]), str(document.get("status") or "queued"))
    code = str(document.get("code") or "")
    reason = f"HTTP {response.status_code}: {document.get('message') or response.text[:200]}"
    if response.status_code == 429 or response.status_code >= 500:
        # Twilio creates a message only with a 201: an error status accepted nothing.
        raise SendError(Failure.TRANSIENT, reason, code)
    if 200 <= response.status_code < 300:
        raise SendError(Failure.AMBIGUOUS, f"{reason} (no message sid)", code)
    raise SendError(Failure.PERMANENT, reason, code)


# --- webhooks from Twilio ---------------------------------------------------------------


class WebhookError(ValueError):
    """A Twilio webhook to refuse: bad signature or a form missing what it must carry."""


@dataclass(frozen=True, slots=True)
class StatusReport:
    provider_id: str
    status: str
    error_code: str = ""


@dataclass(frozen=True, slots=True)
class InboundText:
    provider_id: str
    channel: str
    sender: str  # E.164
    recipient: str  # our number
    body: str


def verify_webhook(auth_token: str, url: str, form: Mapping[str, str], signature: str) -> None:
    """Raise WebhookError unless ``signature`` is Twilio's for ``url`` and ``form``."""
    if not signature or not RequestValidator(auth_token).validate(url, dict(form), signature):
        raise WebhookError(f"bad {SIGNATURE_HEADER}")


def _required(form: Mapping[str, str], key: str) -> str:
    value = form.get(key, "")
    if not value:
        raise WebhookError(f"Twilio form without {key}")
    return value


def parse_status(form: Mapping[str, str]) -> StatusReport:
    status = _required(form, "MessageStatus")
    if status not in DELIVERY_STATUSES:
        raise WebhookError(f"unknown MessageStatus {status!r}")
    return StatusReport(_required(form, "MessageSid"), status, form.get("ErrorCode", ""))


def parse_inbound(form: Mapping[str, str]) -> InboundText:
    channel, sender = strip_address(_required(form, "From"))
    return InboundText(
        provider_id=_required(form, "MessageSid"),
        channel=channel,
        sender=sender,
        recipient=strip_address(form.get("To", ""))[1],
        body=form.get("Body", ""),
    )
