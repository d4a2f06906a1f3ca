"""The Twilio Messages client against the loopback stand-in: wire format, failures, webhooks."""

from __future__ import annotations

import json

import httpx
import pytest

from testbeds.twilio_messaging import ACCOUNT_SID, AUTH_TOKEN, FROM, TwilioStandIn, twilio_signature
from voicebot.messaging.channel import Failure, OutgoingMessage, SendError
from voicebot.messaging.log_channel import LogChannel
from voicebot.messaging.twilio_messages import (
    TwilioMessaging,
    WebhookError,
    parse_inbound,
    parse_status,
    verify_webhook,
)

CALLBACK = "https://bot.example.com/messaging/twilio/status?message=7"
SMS = OutgoingMessage("sms", "+573001234567", "Hola", CALLBACK)


def test_an_sms_is_posted_with_the_documented_form(
    standin: TwilioStandIn, twilio: TwilioMessaging
) -> None:
    accepted = twilio.send(SMS)
    assert standin.refusals == []
    assert standin.accepted == [
        {
            "To": "+573001234567",
            "From": FROM,
            "Body": "Hola",
            "StatusCallback": CALLBACK,
            "sid": accepted.provider_id,
        }
    ]
    assert accepted.status == "queued" and accepted.provider_id.startswith("SM")


def test_whatsapp_prefixes_both_numbers_and_a_template_replaces_the_body(
    standin: TwilioStandIn, twilio: TwilioMessaging
) -> None:
    twilio.send(OutgoingMessage("whatsapp", "+573001234567", "Hola"))
    template = OutgoingMessage(
        "whatsapp", "+573001234567", "", template_sid="HX123", template_variables={"1": "Ana"}
    )
    twilio.send(template)
    first, second = standin.accepted
    assert (first["To"], first["From"]) == ("whatsapp:+573001234567", f"whatsapp:{FROM}")
    assert second["ContentSid"] == "HX123" and "Body" not in second
    assert json.loads(second["ContentVariables"]) == {"1": "Ana"}


def test_wrong_credentials_are_a_permanent_failure(standin: TwilioStandIn) -> None:
    with httpx.Client(timeout=5.0) as client:
        bad = TwilioMessaging(ACCOUNT_SID, "wrong", FROM, client, base_url=standin.base_url)
        with pytest.raises(SendError) as caught:
            bad.send(SMS)
    assert caught.value.failure is Failure.PERMANENT and caught.value.code == "20003"
    assert standin.accepted == []


@pytest.mark.parametrize(
    ("answer", "failure"),
    [("429", Failure.TRANSIENT), ("500", Failure.TRANSIENT), ("400", Failure.PERMANENT)],
)
def test_error_answers_say_whether_to_retry(
    standin: TwilioStandIn, twilio: TwilioMessaging, answer: str, failure: Failure
) -> None:
    standin.script = [answer]
    with pytest.raises(SendError) as caught:
        twilio.send(SMS)
    assert caught.value.failure is failure
    assert standin.accepted == []


def test_a_lost_answer_is_ambiguous_and_a_refused_connection_transient(
    standin: TwilioStandIn, twilio: TwilioMessaging
) -> None:
    standin.script = ["drop"]
    with pytest.raises(SendError) as caught:
        twilio.send(SMS)
    assert caught.value.failure is Failure.AMBIGUOUS
    assert len(standin.accepted) == 1  # Twilio took it: sending again would text twice
    closed = standin.base_url
    standin.stop()
    with httpx.Client(timeout=5.0) as client:
        gone = TwilioMessaging(ACCOUNT_SID, AUTH_TOKEN, FROM, client, base_url=closed)
        with pytest.raises(SendError) as refused:
            gone.send(SMS)
    assert refused.value.failure is Failure.TRANSIENT


@pytest.mark.parametrize(
    ("channel", "to", "body"),
    [("fax", "+573001234567", "x"), ("sms", "3001234567", "x"), ("sms", "+573001234567", "  ")],
)
def test_bad_messages_never_leave(channel: str, to: str, body: str) -> None:
    with pytest.raises(ValueError):
        OutgoingMessage(channel, to, body)


def test_the_log_channel_keeps_what_it_would_have_sent() -> None:
    channel = LogChannel()
    assert channel.send(SMS).provider_id == "LOG00000001"
    assert channel.sent == [SMS]


def test_status_callbacks_are_believed_only_with_twilios_signature(
    standin: TwilioStandIn, twilio: TwilioMessaging
) -> None:
    twilio.send(SMS)
    url, form, signature = standin.status_callback(standin.accepted[0], "undelivered", "30003")
    verify_webhook(AUTH_TOKEN, url, form, signature)
    report = parse_status(form)
    assert (report.status, report.error_code) == ("undelivered", "30003")
    assert report.provider_id == standin.accepted[0]["sid"]
    for forged_url, forged_form, forged_signature in (
        (url, {**form, "MessageStatus": "delivered"}, signature),
        (url.replace("message=7", "message=8"), form, signature),
        (url, form, ""),
        (url, form, twilio_signature("another-token", url, form)),
    ):
        with pytest.raises(WebhookError, match="X-Twilio-Signature"):
            verify_webhook(AUTH_TOKEN, forged_url, forged_form, forged_signature)


def test_webhook_forms_missing_their_fields_are_refused() -> None:
    with pytest.raises(WebhookError, match="MessageStatus"):
        parse_status({"MessageSid": "SM1"})
    with pytest.raises(WebhookError, match="unknown MessageStatus"):
        parse_status({"MessageSid": "SM1", "MessageStatus": "teleported"})
    with pytest.raises(WebhookError, match="From"):
        parse_inbound({"MessageSid": "SM1", "Body": "BAJA"})


def test_an_inbound_whatsapp_text_names_its_channel(standin: TwilioStandIn) -> None:
    url = "https://bot.example.com/messaging/twilio/inbound"
    form, signature = standin.inbound(
        url, "whatsapp:+573001234567", f"whatsapp:{FROM}", "BAJA", "SM9"
    )
    verify_webhook(AUTH_TOKEN, url, form, signature)
    text = parse_inbound(form)
    assert (text.channel, text.sender, text.recipient, text.body) == (
        "whatsapp",
        "+573001234567",
        FROM,
        "BAJA",
    )
