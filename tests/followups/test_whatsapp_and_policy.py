"""WhatsApp sends the campaign's approved templates; a messaging policy is checked when read."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from followups_world import messages, promised
from sqlalchemy.orm import Session, sessionmaker

from testbeds.twilio_messaging import FROM, TwilioStandIn
from voicebot.engine.message_sender import send_due
from voicebot.followups.policy import PolicyError, link_offer_channel, read_policy
from voicebot.messaging.twilio_messages import TwilioMessaging

CALL_ENDED = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
TEMPLATES = {
    "payment_link": {
        "sid": "HX0123456789abcdef0123456789abcdef",
        "variables": ["company", "debtor.first_name", "promise.amount", "payment_link"],
    }
}


def test_whatsapp_sends_the_approved_template_with_its_variables(
    sessions: sessionmaker[Session], standin: TwilioStandIn, twilio: TwilioMessaging
) -> None:
    world = promised(
        sessions,
        call_ended=CALL_ENDED,
        due=date(2026, 11, 27),
        link_requested="whatsapp",
        messaging={"channel": "whatsapp", "whatsapp_templates": TEMPLATES},
    )
    assert len(send_due(sessions, twilio, now=CALL_ENDED).sent) == 1
    (sent,) = standin.accepted
    assert (sent["To"], sent["From"]) == (f"whatsapp:{world.phone}", f"whatsapp:{FROM}")
    assert sent["ContentSid"] == TEMPLATES["payment_link"]["sid"] and "Body" not in sent
    variables = json.loads(sent["ContentVariables"])
    assert variables["1"] == "Cobranzas Andinas" and variables["2"] == "Ana"
    assert variables["3"] == "$150.000 PEN" and variables["4"].startswith("https://pagos.")
    link = messages(sessions, world.debtor_id)[0]
    assert link.body.startswith("Cobranzas Andinas: Ana")  # the history keeps the text


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"chanel": "sms"}, "unknown messaging keys"),
        ({"channel": "fax"}, "messaging.channel"),
        ({"channel": "sms", "reminder": "sometimes"}, "messaging.reminder"),
        ({"channel": "sms", "reminder_hour": 25}, "reminder_hour"),
        ({"channel": "sms", "link_template": "https://x/{token}", "link_secret": "short"}, "16"),
        ({"channel": "sms", "link_template": "https://x/pay"}, "link_template"),
        ({"whatsapp_templates": {"reminder": {"sid": "XX1", "variables": []}}}, "Content SID"),
        ({"whatsapp_templates": {"reminder": {"sid": "HX1", "variables": ["ssn"]}}}, "names among"),
    ],
)
def test_a_bad_policy_is_refused_naming_the_key(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        read_policy(raw)


def test_the_link_is_offered_only_by_a_campaign_that_texts_with_a_link() -> None:
    link = {"link_template": "https://x/{token}", "link_secret": "s" * 16}
    assert link_offer_channel({"channel": "whatsapp", **link}) == "whatsapp"
    assert link_offer_channel({"channel": "sms"}) == "none"
    assert link_offer_channel({}) == "none"
    assert link_offer_channel({"channel": "pigeon", **link}) == "none"
