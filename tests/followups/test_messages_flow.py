"""From a promise to texts on the debtor's phone: queued, judged, sent once, statuses stored.

The real storage, follow-up and sender code on both databases; Twilio is the loopback
stand-in that holds each request to the documented Messages API format.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from followups_world import LINK, SECRET, audit, messages, promised
from sqlalchemy.orm import Session, sessionmaker

from testbeds.twilio_messaging import AUTH_TOKEN, TwilioStandIn
from voicebot.engine.message_sender import LEASE, send_due
from voicebot.followups.delivery_status import record_status
from voicebot.followups.payment_link import verify_token
from voicebot.messaging.channel import Accepted, OutgoingMessage
from voicebot.messaging.twilio_messages import TwilioMessaging, parse_status, verify_webhook
from voicebot.storage import models as m
from voicebot.storage.db import transaction

# Tuesday 24 November 2026, 15:00 in Lima: a lawful hour in Peru.
CALL_ENDED = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
DUE = date(2026, 11, 27)  # Friday
REMINDER_AT = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # Thursday 10:00 in Lima
CALLBACK = "https://bot.example.com/messaging/twilio/status"


def test_a_promise_queues_the_link_now_and_the_reminder_the_day_before(
    sessions: sessionmaker[Session],
) -> None:
    world = promised(sessions, call_ended=CALL_ENDED, due=DUE)
    link, reminder = messages(sessions, world.debtor_id)
    assert (link.kind, link.next_attempt_at, link.to) == ("payment_link", CALL_ENDED, world.phone)
    assert (reminder.kind, reminder.next_attempt_at) == ("reminder", REMINDER_AT)
    assert link.body.startswith("Cobranzas Andinas: Ana, como lo acordamos")
    assert "$150.000 PEN" in link.body and "viernes 27 de noviembre" in link.body
    for text in (link.body, reminder.body):
        assert text.endswith("Para no recibir más mensajes responda BAJA.")
    url = re.search(r"https://pagos\.example\.com/p/(\S+)", link.body)
    assert url is not None
    claim = verify_token(url.group(1), SECRET, now=CALL_ENDED)
    assert (claim.debt_ref, claim.amount, claim.promise_id) == (
        "CR-c",
        Decimal("150000.00"),
        world.promise_id,
    )
    with sessions() as s:  # a reminder text instead of the reminder call
        kinds = {a.kind for a in s.query(m.CallAttempt).filter_by(debtor_id=world.debtor_id)}
    assert kinds == {"first", "check"}


def test_without_right_party_verification_the_text_reveals_nothing(
    sessions: sessionmaker[Session],
) -> None:
    world = promised(sessions, call_ended=CALL_ENDED, due=DUE, right_party=False)
    for message in messages(sessions, world.debtor_id):
        assert message.body == (
            "Cobranzas Andinas tiene un mensaje personal para Ana. Comuníquese al +5116001234. "
            "Para no recibir más mensajes responda BAJA."
        )
        assert not message.discloses and LINK[:20] not in message.body


def test_a_debtor_who_declined_the_link_gets_only_the_reminder(
    sessions: sessionmaker[Session],
) -> None:
    world = promised(sessions, call_ended=CALL_ENDED, due=DUE, link_requested="none")
    assert [x.kind for x in messages(sessions, world.debtor_id)] == ["reminder"]


def test_each_text_is_sent_once_at_its_time_and_its_statuses_are_stored(
    sessions: sessionmaker[Session], standin: TwilioStandIn, twilio: TwilioMessaging
) -> None:
    world = promised(sessions, call_ended=CALL_ENDED, due=DUE)
    first = send_due(sessions, twilio, now=CALL_ENDED, status_callback_url=CALLBACK)
    again = send_due(sessions, twilio, now=CALL_ENDED + timedelta(hours=1))
    assert len(first.sent) == 1 and again.sent == []  # the reminder is not due yet
    assert [f["To"] for f in standin.accepted] == [world.phone]
    reminder = send_due(sessions, twilio, now=REMINDER_AT, status_callback_url=CALLBACK)
    assert len(reminder.sent) == 1 and len(standin.accepted) == 2
    assert standin.refusals == []

    sent = standin.accepted[0]
    for status in ("sent", "delivered"):
        url, form, signature = standin.status_callback(sent, status)
        verify_webhook(AUTH_TOKEN, url, form, signature)
        with transaction(sessions) as s:
            record_status(s, parse_status(form), message_id=None, now=REMINDER_AT)
    # Twilio may post out of order: a late "sent" does not undo "delivered".
    url, form, signature = standin.status_callback(sent, "sent")
    with transaction(sessions) as s:
        record_status(s, parse_status(form), message_id=None, now=REMINDER_AT)
    link = messages(sessions, world.debtor_id)[0]
    assert (link.status, link.provider_id, link.provider) == ("delivered", sent["sid"], "twilio")
    with sessions() as s:
        events = [e.status for e in s.query(m.MessageStatusEvent).filter_by(message_id=link.id)]
    assert events == ["sent", "delivered", "sent"]
    assert sent["StatusCallback"] == f"{CALLBACK}?message={link.id}"


class DiesAfterSending:
    """A sender process killed after Twilio accepted the text, before the answer was stored."""

    name = "twilio"

    def __init__(self, inner: TwilioMessaging) -> None:
        self.inner = inner

    def send(self, message: OutgoingMessage) -> Accepted:
        self.inner.send(message)
        raise SystemExit("killed")


def test_a_crash_between_sending_and_recording_never_sends_twice(
    sessions: sessionmaker[Session], standin: TwilioStandIn, twilio: TwilioMessaging
) -> None:
    world = promised(sessions, call_ended=CALL_ENDED, due=DUE)
    with pytest.raises(SystemExit):
        send_due(sessions, DiesAfterSending(twilio), now=CALL_ENDED)
    assert len(standin.accepted) == 1
    # A restarted sender before the claim's lease ends: the claim is left alone.
    assert send_due(sessions, twilio, now=CALL_ENDED + LEASE / 2).sent == []
    later = send_due(sessions, twilio, now=CALL_ENDED + LEASE * 2)
    assert len(later.unknown) == 1 and later.sent == []
    assert len(standin.accepted) == 1
    link = messages(sessions, world.debtor_id)[0]
    assert link.status == "unknown"
    # Twilio's status callback still finds it through the message id in the callback URL.
    sent = {**standin.accepted[0], "StatusCallback": f"{CALLBACK}?message={link.id}"}
    _, form, _ = standin.status_callback(sent, "delivered")
    with transaction(sessions) as s:
        record_status(s, parse_status(form), message_id=link.id, now=later_now())
    assert messages(sessions, world.debtor_id)[0].status == "delivered"
    assert [e.details["message_id"] for e in audit(sessions, "message_unknown")] == [link.id]


def later_now() -> datetime:
    return CALL_ENDED + LEASE * 3


def test_transient_failures_are_retried_and_permanent_ones_are_not(
    sessions: sessionmaker[Session], standin: TwilioStandIn, twilio: TwilioMessaging
) -> None:
    promised(sessions, call_ended=CALL_ENDED, due=DUE, name="a")
    promised(sessions, call_ended=CALL_ENDED, due=DUE, name="b", phone="+51987650000")
    standin.script = ["500", "400"]
    report = send_due(sessions, twilio, now=CALL_ENDED)
    assert (len(report.retrying), len(report.failed)) == (1, 1)
    assert standin.accepted == []
    assert send_due(sessions, twilio, now=CALL_ENDED + timedelta(seconds=30)).sent == []
    retried = send_due(sessions, twilio, now=CALL_ENDED + timedelta(minutes=2))
    assert retried.sent == report.retrying and len(standin.accepted) == 1


def test_a_text_refused_by_compliance_is_audited_and_never_sent(
    sessions: sessionmaker[Session], standin: TwilioStandIn, twilio: TwilioMessaging
) -> None:
    """US: an automated text to a cell phone needs the debtor's prior express consent."""
    world = promised(
        sessions,
        call_ended=datetime(2026, 11, 24, 18, 0, tzinfo=UTC),
        due=DUE,
        jurisdiction="US",
        phone="+12125550123",
        zone="America/New_York",
        region="US",
    )
    report = send_due(sessions, twilio, now=datetime(2026, 11, 24, 18, 0, tzinfo=UTC))
    assert len(report.refused) == 1 and standin.requests == 0
    refusal = audit(sessions, "message_refused")[0]
    assert refusal.rule == "us_consent_mobile" and refusal.debtor_id == world.debtor_id
    assert "automated text" in refusal.reason
    assert messages(sessions, world.debtor_id)[0].status == "refused"


def test_colombia_defers_a_text_after_a_call_and_refuses_one_too_late(
    sessions: sessionmaker[Session], standin: TwilioStandIn, twilio: TwilioMessaging
) -> None:
    """Ley 2300: one contact a day, and no other channel the week after a contact."""
    ended = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # 10:00 in Bogotá
    world = promised(
        sessions,
        call_ended=ended,
        due=date(2026, 12, 4),
        jurisdiction="CO",
        phone="+573001234567",
        zone="America/Bogota",
        region="CO",
    )
    link_id, reminder_id = (x.id for x in messages(sessions, world.debtor_id))
    report = send_due(sessions, twilio, now=ended + timedelta(minutes=5))
    assert (report.sent, report.deferred, standin.requests) == ([], [link_id], 0)
    deferral = audit(sessions, "message_deferred")[0]
    assert deferral.rule in ("co_one_contact_per_day", "co_one_channel_per_week")
    call_started = ended - timedelta(minutes=3)
    next_allowed = datetime.fromisoformat(deferral.details["next_allowed_at"])
    assert next_allowed == call_started + timedelta(days=7)
    # 3 December, 10:00: the week is over, the link goes; the reminder due the same hour
    # would be a second contact that day, and its next lawful hour is past its send-by.
    later = send_due(sessions, twilio, now=datetime(2026, 12, 3, 15, 0, tzinfo=UTC))
    assert (later.sent, later.refused, len(standin.accepted)) == ([link_id], [reminder_id], 1)
    refusal = audit(sessions, "message_refused")[0]
    assert refusal.rule == "co_one_contact_per_day"
    assert {x.kind: x.status for x in messages(sessions, world.debtor_id)} == {
        "payment_link": "queued",
        "reminder": "refused",
    }


def test_a_paused_campaign_texts_nobody_and_a_stopped_one_drops_its_texts(
    sessions: sessionmaker[Session], standin: TwilioStandIn, twilio: TwilioMessaging
) -> None:
    world = promised(sessions, call_ended=CALL_ENDED, due=DUE)
    with transaction(sessions) as s:
        s.get_one(m.Campaign, world.campaign_id).status = "paused"
    assert send_due(sessions, twilio, now=CALL_ENDED).sent == []
    assert {x.status for x in messages(sessions, world.debtor_id)} == {"pending"}
    with transaction(sessions) as s:
        s.get_one(m.Campaign, world.campaign_id).status = "stopped"
    assert send_due(sessions, twilio, now=REMINDER_AT).sent == []
    assert {x.status for x in messages(sessions, world.debtor_id)} == {"canceled"}
    assert standin.requests == 0 and len(audit(sessions, "message_canceled")) == 2
