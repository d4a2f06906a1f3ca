"""Texts from debtors: opt-out keywords end that channel (and calls where the law says so)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from followups_world import audit, messages, promised
from sqlalchemy.orm import Session, sessionmaker

from testbeds.twilio_messaging import AUTH_TOKEN, FROM, TwilioStandIn
from voicebot.engine.message_sender import send_due
from voicebot.followups.inbound import is_opt_out, receive
from voicebot.messaging.twilio_messages import TwilioMessaging, parse_inbound, verify_webhook
from voicebot.storage import models as m
from voicebot.storage.db import transaction
from voicebot.storage.repositories import is_opted_out

CALL_ENDED = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
INBOUND = "https://bot.example.com/messaging/twilio/inbound"


@pytest.mark.parametrize(
    "body", ["STOP", "baja", "Baja.", "NO MÁS", "no mas!", "Por favor no me escriban más", "ALTO"]
)
def test_opt_out_words_are_recognized(body: str) -> None:
    assert is_opt_out(body)


@pytest.mark.parametrize("body", ["¿Cuánto debo?", "ya pagué", "no puedo pagar más", "Hola"])
def test_other_texts_are_not_opt_outs(body: str) -> None:
    assert not is_opt_out(body)


def _receive(
    sessions: sessionmaker[Session], standin: TwilioStandIn, sender: str, body: str, sid: str
) -> m.InboundMessage:
    form, signature = standin.inbound(INBOUND, sender, FROM, body, sid)
    verify_webhook(AUTH_TOKEN, INBOUND, form, signature)
    with transaction(sessions) as s:
        row = receive(s, parse_inbound(form), now=CALL_ENDED, actor="twilio")
        s.flush()
        s.expunge(row)
        return row


def test_baja_stops_texts_on_that_channel_but_not_calls_in_peru(
    sessions: sessionmaker[Session], standin: TwilioStandIn, twilio: TwilioMessaging
) -> None:
    world = promised(sessions, call_ended=CALL_ENDED, due=date(2026, 11, 27))
    row = _receive(sessions, standin, world.phone, "BAJA", "SM1")
    again = _receive(sessions, standin, world.phone, "BAJA", "SM1")  # Twilio's retry
    assert (row.action, row.debtor_id, again.id) == ("opt_out", world.debtor_id, row.id)
    report = send_due(sessions, twilio, now=CALL_ENDED)
    assert report.refused and standin.requests == 0
    assert audit(sessions, "message_refused")[0].rule == "opt_out"
    with sessions() as s:
        assert not is_opted_out(s, debtor_id=world.debtor_id, phone=world.phone)
        (opt_out,) = s.query(m.OptOut).filter_by(debtor_id=world.debtor_id)
        assert (opt_out.channel, opt_out.phone, opt_out.source) == ("sms", world.phone, "message")
    assert len(audit(sessions, "opt_out_recorded")) == 1
    assert {x.status for x in messages(sessions, world.debtor_id)} == {"refused", "pending"}


def test_stop_in_the_united_states_also_stops_automated_calls(
    sessions: sessionmaker[Session], standin: TwilioStandIn
) -> None:
    world = promised(
        sessions,
        call_ended=CALL_ENDED,
        due=date(2026, 11, 27),
        jurisdiction="US",
        phone="+12125550123",
        zone="America/New_York",
        region="US",
    )
    _receive(sessions, standin, world.phone, "Stop", "SM2")
    with sessions() as s:
        assert is_opted_out(s, debtor_id=world.debtor_id, phone=world.phone)


def test_any_other_text_is_kept_on_the_debtors_history(
    sessions: sessionmaker[Session], standin: TwilioStandIn
) -> None:
    world = promised(sessions, call_ended=CALL_ENDED, due=date(2026, 11, 27))
    row = _receive(sessions, standin, world.phone, "Ya pagué ayer en el banco", "SM3")
    stranger = _receive(sessions, standin, "+51911111111", "STOP", "SM4")
    assert (row.action, row.body, row.debtor_id) == (
        "stored",
        "Ya pagué ayer en el banco",
        world.debtor_id,
    )
    assert (stranger.action, stranger.debtor_id) == ("unknown_sender", None)
    with sessions() as s:
        assert s.query(m.OptOut).count() == 0


def test_stop_from_a_number_two_debtors_share_stops_texts_to_both(
    sessions: sessionmaker[Session], standin: TwilioStandIn
) -> None:
    first = promised(sessions, call_ended=CALL_ENDED, due=date(2026, 11, 27), name="a")
    second = promised(sessions, call_ended=CALL_ENDED, due=date(2026, 11, 27), name="b")
    row = _receive(sessions, standin, first.phone, "STOP", "SM5")
    assert row.debtor_id == second.debtor_id  # the most recently added record names the text
    with sessions() as s:
        opted = {o.debtor_id for o in s.query(m.OptOut).filter_by(channel="sms")}
    assert opted == {first.debtor_id, second.debtor_id}
