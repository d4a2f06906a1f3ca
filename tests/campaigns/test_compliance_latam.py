"""Colombia and Chile: each case a compliance officer would try, and the rule that decides it.

Colombia: Ley 2300 de 2023 arts. 2-3 (authorised channels, one contact a day, one channel a
week after a direct contact). Chile: Ley 19.496 art. 37 as amended by Ley 21.320 (días
hábiles 08-20 with Saturdays, holidays with regional ones, one call in any 7 days).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from voicebot.campaigns.compliance import (
    DialFacts,
    PastAttempt,
    check,
    default_rules,
    is_holiday,
    past_contact,
)

BOGOTA = ZoneInfo("America/Bogota")
SANTIAGO = ZoneInfo("America/Santiago")
CO = DialFacts(("CO",), "+573101234567", "America/Bogota", "mobile")
CL = DialFacts(("CL",), "+56912345678", "America/Santiago", "mobile")
TUESDAY_9 = datetime(2026, 11, 24, 9, 0, tzinfo=BOGOTA)


def test_finding_5_a_debtor_who_picks_up_and_hangs_up_was_contacted_today() -> None:
    """Art. 3: one contact a day. Answering then hanging up (DROP) is a contact."""
    picked_up = past_contact(TUESDAY_9, "voice", "answered")
    retry = check(CO, [picked_up], TUESDAY_9 + timedelta(hours=1))
    assert retry.rule == "co_one_contact_per_day"
    assert retry.next_allowed_at == datetime(2026, 11, 25, 7, 0, tzinfo=BOGOTA)
    # A voicemail message left is a contact too (strict reading); an unanswered ring is not.
    voicemail = past_contact(TUESDAY_9, "voice", "voicemail")
    assert check(CO, [voicemail], TUESDAY_9 + timedelta(hours=1)).rule == "co_one_contact_per_day"
    rang = past_contact(TUESDAY_9, "voice", "no_answer")
    assert check(CO, [rang], TUESDAY_9 + timedelta(hours=1)).allowed


def test_finding_5_a_contact_made_elsewhere_today_blocks_the_call() -> None:
    """Art. 3 counts contacts through any channel: an agent's call this morning counts."""
    agent = past_contact(TUESDAY_9, "agent", "conversation")
    assert check(CO, [agent], TUESDAY_9 + timedelta(hours=3)).rule == "co_one_contact_per_day"


def test_finding_5_after_a_direct_contact_no_other_channel_the_same_week() -> None:
    """Art. 3: contacted by WhatsApp on Monday, the voice call on Wednesday must wait."""
    monday = datetime(2026, 11, 23, 10, 0, tzinfo=BOGOTA)
    whatsapp = past_contact(monday, "whatsapp", "answered")
    wednesday = check(CO, [whatsapp], monday + timedelta(days=2))
    assert wednesday.rule == "co_one_channel_per_week"
    assert wednesday.next_allowed_at == monday + timedelta(days=7)  # any 7 days (strict)
    # The same channel (a call, by an agent or by this service) is not another channel.
    agent = past_contact(monday, "agent", "answered")
    assert check(CO, [agent], monday + timedelta(days=2)).allowed
    # A WhatsApp that never reached anyone is no contact.
    failed = past_contact(monday, "whatsapp", "no_answer")
    assert check(CO, [failed], monday + timedelta(days=2)).allowed


def test_finding_5_only_channels_the_debtor_authorised() -> None:
    """Art. 2: a debtor who authorised only SMS and e-mail is never called."""
    sms_only = replace(CO, authorized_channels=("sms", "email"))
    decision = check(sms_only, [], TUESDAY_9)
    assert (decision.allowed, decision.rule, decision.next_allowed_at) == (
        False,
        "co_channel_not_authorized",
        None,
    )
    assert check(replace(CO, authorized_channels=("voice", "sms")), [], TUESDAY_9).allowed
    assert not check(replace(CO, authorized_channels=()), [], TUESDAY_9).allowed


def test_finding_6_chilean_saturdays_are_working_days() -> None:
    """CPC art. 59 as SERNAC reads Ley 19.496 art. 37: Saturday 08:00-20:00 is allowed."""
    saturday = datetime(2026, 11, 28, 10, 0, tzinfo=SANTIAGO)
    assert check(CL, [], saturday).allowed
    late = check(CL, [], saturday.replace(hour=20))
    assert late.rule == "cl_hours"
    sunday = check(CL, [], saturday + timedelta(days=1))
    assert sunday.rule == "cl_closed_day"
    assert sunday.next_allowed_at == datetime(2026, 11, 30, 8, 0, tzinfo=SANTIAGO)


def test_finding_6_regional_holidays_follow_the_debtors_region() -> None:
    """Ñuble's 20 August (Ley 21.033) and Arica's 7 June (Ley 20.663) close only there."""
    nuble_day = datetime(2026, 8, 20, 10, 0, tzinfo=SANTIAGO)
    assert check(replace(CL, subdivision="NB"), [], nuble_day).rule == "cl_holiday"
    assert check(replace(CL, subdivision="RM"), [], nuble_day).allowed
    arica_day = datetime(2027, 6, 7, 10, 0, tzinfo=SANTIAGO)
    assert check(replace(CL, subdivision="AP"), [], arica_day).rule == "cl_holiday"
    assert check(CL, [], arica_day).allowed


def test_finding_6_the_week_reading_is_a_rule_setting_and_defaults_to_any_seven_days() -> None:
    friday = datetime(2026, 11, 27, 10, 0, tzinfo=SANTIAGO)
    monday = datetime(2026, 11, 30, 10, 0, tzinfo=SANTIAGO)
    strict = check(CL, [PastAttempt(friday)], monday)
    assert strict.rule == "cl_one_call_per_week"
    assert strict.next_allowed_at == friday + timedelta(days=7)
    assert default_rules()["CL"].week == "rolling"
    calendar = {**default_rules(), "CL": replace(default_rules()["CL"], week="calendar")}
    assert check(CL, [PastAttempt(friday)], monday, calendar).allowed


def test_finding_6_a_visit_or_an_agents_call_is_the_weeks_call() -> None:
    """Art. 37: one call or visit a week, whoever made it."""
    visit = past_contact(datetime(2026, 11, 23, 11, 0, tzinfo=SANTIAGO), "visit", "answered")
    decision = check(CL, [visit], datetime(2026, 11, 25, 10, 0, tzinfo=SANTIAGO))
    assert decision.rule == "cl_one_call_per_week"
    # Messages are limited on their own (two a week), never toward calls.
    messages = [
        past_contact(datetime(2026, 11, 23, 11, 0, tzinfo=SANTIAGO), channel, "answered")
        for channel in ("email", "sms", "whatsapp")
    ]
    assert check(CL, messages, datetime(2026, 11, 25, 10, 0, tzinfo=SANTIAGO)).allowed


def test_a_simulated_chilean_week_with_saturdays_never_breaks_a_rule() -> None:
    """Greedy dialling every 5 minutes for two weeks; checked against an independent table."""
    facts = replace(CL, subdivision="RM")
    history: list[PastAttempt] = []
    now = datetime(2026, 11, 28, 0, 0, tzinfo=SANTIAGO)  # a Saturday
    end = now + timedelta(days=15)
    while now < end:
        if check(facts, history, now).allowed:
            history.append(PastAttempt(now))
        now += timedelta(minutes=5)
    local = [p.at.astimezone(SANTIAGO) for p in history]
    for at in local:
        assert at.weekday() < 6 and 8 <= at.hour < 20, at
        assert not is_holiday(at.date(), "CL", "RM"), at
    assert all(b - a >= timedelta(days=7) for a, b in pairwise(local))
    # Saturdays are working days, and a call may come 7 days after the last one, whatever
    # the calendar week: Saturday 28 Nov, Saturday 5 Dec, Saturday 12 Dec.
    assert [at.strftime("%a %d %H:%M") for at in local] == [
        "Sat 28 08:00",
        "Sat 05 08:00",
        "Sat 12 08:00",
    ]
