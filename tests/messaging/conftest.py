"""Messaging fixtures: the loopback Twilio stand-in and a client pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from twilio_standin import ACCOUNT_SID, AUTH_TOKEN, FROM, TwilioStandIn

from voicebot.messaging.twilio_messages import TwilioMessaging


@pytest.fixture
def standin() -> Iterator[TwilioStandIn]:
    server = TwilioStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def twilio(standin: TwilioStandIn) -> Iterator[TwilioMessaging]:
    with httpx.Client(timeout=5.0) as client:
        yield TwilioMessaging(ACCOUNT_SID, AUTH_TOKEN, FROM, client, base_url=standin.base_url)
