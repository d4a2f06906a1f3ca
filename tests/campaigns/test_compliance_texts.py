"""Texts (SMS, WhatsApp) under the same rules as calls: the channel is one of the facts."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from typer.testing import CliRunner

from voicebot.campaigns.compliance import DialFacts, check, jurisdictions_for, past_contact
from voicebot.cli import app

NEW_YORK = ZoneInfo("America/New_York")
BOGOTA = ZoneInfo("America/Bogota")
SANTIAGO = ZoneInfo("America/Santiago")
TUESDAY_NY = datetime(2026, 11, 24, 10, 0, tzinfo=NEW_YORK)
TUESDAY_BOG = datetime(2026, 11, 24, 10, 0, tzinfo=BOGOTA)
NY_MOBILE = "+12125550199"
BOSTON = "+16175550123"
CO_MOBILE = "+573001234567"


def facts(jurisdiction: str, phone: str, zone: str, **more: object) -> DialFacts:
    region = str(more.pop("region", jurisdiction))
    return DialFacts(
        jurisdictions_for(jurisdiction, region, more.pop("subdivision", None), phone),  # type: ignore[arg-type]
        phone,
        zone,
        str(more.pop("kind", "mobile")),
        **more,  # type: ignore[arg-type]
    )


def test_us_an_automated_text_to_a_cell_phone_needs_consent() -> None:
    text = facts("US", NY_MOBILE, "America/New_York", channel="sms")
    refused = check(text, [], TUESDAY_NY)
    assert (refused.allowed, refused.rule) == (False, "us_consent_mobile")
    assert "automated text" in refused.reason and refused.next_allowed_at is None
    assert check(replace(text, tcpa_consent=True), [], TUESDAY_NY).allowed


def test_us_texts_keep_the_hours_but_not_the_quiet_week_after_a_conversation() -> None:
    text = facts("US", NY_MOBILE, "America/New_York", channel="sms", tcpa_consent=True)
    late = check(text, [], datetime(2026, 11, 24, 21, 30, tzinfo=NEW_YORK))
    assert (late.allowed, late.rule) == (False, "us_hours")
    talked = [past_contact(TUESDAY_NY - timedelta(days=2), "voice", "conversation")]
    assert check(text, talked, TUESDAY_NY).allowed  # 1006.14(b)(2)(ii) counts telephone calls
    call = replace(text, channel="voice")
    assert check(call, talked, TUESDAY_NY).rule == "us_quiet_after_conversation"


def test_massachusetts_counts_texts_toward_two_communications_a_week() -> None:
    text = facts(
        "US", BOSTON, "America/New_York", channel="sms", tcpa_consent=True, subdivision="MA"
    )
    two = [
        past_contact(TUESDAY_NY - timedelta(days=d), "sms", "answered", phone=BOSTON)
        for d in (1, 3)
    ]
    decision = check(text, two, TUESDAY_NY)
    assert (decision.allowed, decision.rule) == (False, "us_ma_2_in_7")


def test_colombia_a_text_must_be_an_authorised_channel() -> None:
    text = facts("CO", CO_MOBILE, "America/Bogota", channel="sms", authorized_channels=("voice",))
    decision = check(text, [], TUESDAY_BOG)
    assert (decision.allowed, decision.rule) == (False, "co_channel_not_authorized")
    assert check(replace(text, authorized_channels=("voice", "sms")), [], TUESDAY_BOG).allowed


def test_colombia_no_text_the_week_after_a_call_reached_the_debtor() -> None:
    text = facts("CO", CO_MOBILE, "America/Bogota", channel="whatsapp")
    monday = TUESDAY_BOG - timedelta(days=1)
    called = [past_contact(monday, "voice", "conversation")]
    decision = check(text, called, TUESDAY_BOG)
    assert (decision.allowed, decision.rule) == (False, "co_one_channel_per_week")
    assert decision.next_allowed_at == monday + timedelta(days=7)
    # The same channel again is not "another channel": a call the next day is lawful.
    assert check(replace(text, channel="voice"), called, TUESDAY_BOG).allowed


def test_chile_a_text_is_not_a_call_for_the_one_call_a_week_rule() -> None:
    at = datetime(2026, 11, 24, 10, 0, tzinfo=SANTIAGO)
    called = [past_contact(at - timedelta(days=2), "voice", "no_answer")]
    text = facts("CL", "+56912345678", "America/Santiago", channel="sms")
    assert check(text, called, at).allowed
    assert check(replace(text, channel="voice"), called, at).rule == "cl_one_call_per_week"


def test_the_compliance_command_asks_for_a_text(tmp_path: Path) -> None:
    debtor = tmp_path / "debtor.json"
    debtor.write_text(json.dumps({"region": "US", "timezone": "America/New_York"}))
    args = ["compliance", "check", "--debtor", str(debtor), "--phone", NY_MOBILE]
    args += ["--at", "2026-11-24T10:00", "--line-type", "mobile", "--jurisdiction", "US"]
    answer = CliRunner().invoke(app, [*args, "--channel", "sms"])
    assert answer.exit_code == 0, answer.output
    assert json.loads(answer.output)["rule"] == "us_consent_mobile"
    bad = CliRunner().invoke(app, [*args, "--channel", "fax"])
    assert bad.exit_code == 2 and "channel: voice, sms or whatsapp" in bad.output
