"""Compliance before every dial: windows, holidays, caps, quiet periods, strictest wins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from voicebot.campaigns.compliance import (
    DialFacts,
    PastAttempt,
    check,
    default_rules,
    phone_timezone,
)

BOGOTA = ZoneInfo("America/Bogota")
SANTIAGO = ZoneInfo("America/Santiago")
NEW_YORK = ZoneInfo("America/New_York")
LIMA = ZoneInfo("America/Lima")
MEXICO = ZoneInfo("America/Mexico_City")

CO = DialFacts(("CO",), "+573101234567", "America/Bogota", "mobile")
CL = DialFacts(("CL",), "+56912345678", "America/Santiago", "mobile")
# A landline whose owner consented: only Regulation F binds (the TCPA cases are in test_compliance_us).
US = DialFacts(("US",), "+12125550199", "America/New_York", "landline", tcpa_consent=True)
PE = DialFacts(("PE",), "+51987654321", "America/Lima", "mobile")
MX = DialFacts(("MX",), "+525512345678", "America/Mexico_City", "mobile")

# Independent restatement of the windows (weekday → (start hour, end hour)), to check against.
WINDOWS = {
    "CO": {0: (7, 19), 1: (7, 19), 2: (7, 19), 3: (7, 19), 4: (7, 19), 5: (8, 15)},
    "CL": {d: (8, 20) for d in range(5)},
    "MX": {d: (7, 22) for d in range(7)},
    "PE": {d: (7, 20) for d in range(5)},
    "US": {d: (8, 21) for d in range(7)},
}
FACTS = {
    "CO": (CO, BOGOTA),
    "CL": (CL, SANTIAGO),
    "MX": (MX, MEXICO),
    "PE": (PE, LIMA),
    "US": (US, NEW_YORK),
}


def at(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)  # type: ignore[misc]


def test_colombia_weekday_window() -> None:
    assert check(CO, [], at(BOGOTA, 2026, 11, 24, 7, 0)).allowed
    late = check(CO, [], at(BOGOTA, 2026, 11, 24, 19, 0))
    assert not late.allowed and late.rule == "co_hours"
    assert late.next_allowed_at == at(BOGOTA, 2026, 11, 25, 7, 0)


def test_colombia_saturday_short_and_sunday_closed() -> None:
    assert check(CO, [], at(BOGOTA, 2026, 11, 28, 14, 59)).allowed
    assert check(CO, [], at(BOGOTA, 2026, 11, 28, 15, 0)).rule == "co_hours"
    sunday = check(CO, [], at(BOGOTA, 2026, 11, 29, 10, 0))
    assert sunday.rule == "co_closed_day"
    assert sunday.next_allowed_at == at(BOGOTA, 2026, 11, 30, 7, 0)


def test_colombian_holiday_is_closed() -> None:
    decision = check(CO, [], at(BOGOTA, 2026, 12, 8, 10, 0))  # Inmaculada Concepción
    assert decision.rule == "co_holiday"
    assert decision.next_allowed_at == at(BOGOTA, 2026, 12, 9, 7, 0)


def test_chile_national_holiday_and_weekly_call_cap() -> None:
    assert check(CL, [], at(SANTIAGO, 2026, 9, 18, 10, 0)).rule == "cl_holiday"
    monday = at(SANTIAGO, 2026, 11, 23, 10, 0)
    decision = check(CL, [PastAttempt(monday)], monday + timedelta(days=2))
    assert decision.rule == "cl_one_call_per_week"
    # Any 7 days (the strict reading of "una vez por semana"), not the next calendar week.
    assert decision.next_allowed_at == at(SANTIAGO, 2026, 11, 30, 10, 0)


def test_colombia_one_contact_per_day_but_unanswered_retries_allowed() -> None:
    nine = at(BOGOTA, 2026, 11, 24, 9, 0)
    assert check(CO, [PastAttempt(nine, contact=False)], nine + timedelta(hours=2)).allowed
    refused = check(CO, [PastAttempt(nine, contact=True)], nine + timedelta(hours=2))
    assert refused.rule == "co_one_contact_per_day"
    assert refused.next_allowed_at == at(BOGOTA, 2026, 11, 25, 7, 0)


def test_us_seven_in_seven_and_quiet_after_conversation() -> None:
    start = at(NEW_YORK, 2026, 11, 23, 9, 0)
    seven = [PastAttempt(start + timedelta(hours=i)) for i in range(7)]
    refused = check(US, seven, start + timedelta(days=1))
    assert refused.rule == "us_7_in_7"
    assert refused.next_allowed_at == start + timedelta(days=7)
    talked = [PastAttempt(start, contact=True, conversation=True)]
    quiet = check(US, talked, start + timedelta(days=3))
    assert quiet.rule == "us_quiet_after_conversation"
    assert quiet.next_allowed_at == start + timedelta(days=7)


def test_us_mobile_without_consent_is_refused() -> None:
    mobile = DialFacts(("US",), "+12125550199", "America/New_York", "mobile", tcpa_consent=False)
    assert check(mobile, [], at(NEW_YORK, 2026, 11, 23, 10, 0)).rule == "us_consent_mobile"
    consented = DialFacts(("US",), "+12125550199", "America/New_York", "mobile", tcpa_consent=True)
    assert check(consented, [], at(NEW_YORK, 2026, 11, 23, 10, 0)).allowed


def test_us_daylight_saving_shifts_the_window_in_utc() -> None:
    # 8:00 New York is 13:00 UTC in winter and 12:00 UTC in summer.
    assert check(US, [], datetime(2026, 12, 1, 13, 0, tzinfo=UTC)).allowed
    assert not check(US, [], datetime(2026, 12, 1, 12, 30, tzinfo=UTC)).allowed
    assert check(US, [], datetime(2026, 7, 1, 12, 0, tzinfo=UTC)).allowed
    spring = check(US, [], datetime(2026, 3, 8, 11, 30, tzinfo=UTC))  # 07:30 EDT, the DST day
    assert spring.next_allowed_at == datetime(2026, 3, 8, 8, 0, tzinfo=NEW_YORK)


def test_strictest_wins_when_several_jurisdictions_apply() -> None:
    both = DialFacts(("MX", "CO"), "+573101234567", "America/Bogota", "mobile")
    eight_pm = at(BOGOTA, 2026, 11, 24, 20, 0)
    assert check(DialFacts(("MX",), both.phone_e164, "America/Bogota"), [], eight_pm).allowed
    refused = check(both, [], eight_pm)
    assert refused.rule == "co_hours"
    assert refused.next_allowed_at == at(BOGOTA, 2026, 11, 25, 7, 0)


def test_opt_out_dispute_and_invalid_phone_block_forever() -> None:
    now = at(BOGOTA, 2026, 11, 24, 10, 0)
    for facts, rule in (
        (DialFacts(("CO",), CO.phone_e164, CO.timezone, opted_out=True), "opt_out"),
        (DialFacts(("CO",), CO.phone_e164, CO.timezone, disputed=True), "dispute"),
        (DialFacts(("CO",), CO.phone_e164, CO.timezone, phone_invalid=True), "phone_invalid"),
    ):
        decision = check(facts, [], now)
        assert (decision.allowed, decision.rule, decision.next_allowed_at) == (False, rule, None)


def test_timezone_from_the_phone_and_refusal_when_ambiguous() -> None:
    assert phone_timezone("+573101234567") == "America/Bogota"
    unknown_zone = DialFacts(("CO",), "+573101234567", None)
    assert check(unknown_zone, [], at(BOGOTA, 2026, 11, 24, 10, 0)).allowed
    mexico = DialFacts(("MX",), "+526561234567", None)  # Ciudad Juárez range spans zones
    zone = phone_timezone(mexico.phone_e164)
    if zone is None:
        assert (
            check(mexico, [], datetime(2026, 11, 24, 18, tzinfo=UTC)).rule == "ambiguous_timezone"
        )
    us_mobile_anywhere = DialFacts(("US",), "+18005550199", None)  # toll-free: no single zone
    assert (
        check(us_mobile_anywhere, [], datetime(2026, 11, 24, 18, tzinfo=UTC)).rule
        == "ambiguous_timezone"
    )


def test_unknown_jurisdiction_is_refused() -> None:
    facts = DialFacts(("BR",), "+5511912345678", "America/Sao_Paulo")
    assert check(facts, [], datetime(2026, 11, 24, 15, tzinfo=UTC)).rule == "unknown_jurisdiction"


@pytest.mark.parametrize("code", sorted(FACTS))
def test_a_simulated_week_of_greedy_dialing_never_breaks_a_rule(code: str) -> None:
    """Dial whenever allowed, every 5 minutes for a week; audit the result independently."""
    facts, zone = FACTS[code]
    history: list[PastAttempt] = []
    now = datetime(2026, 11, 23, 0, 0, tzinfo=zone)
    end = now + timedelta(days=8)
    refused_with_next = 0
    while now < end:
        decision = check(facts, history, now)
        if decision.allowed:
            n = len(history)
            history.append(PastAttempt(now, contact=n % 3 == 0, conversation=n % 9 == 0))
        else:
            assert decision.next_allowed_at is None or decision.next_allowed_at > now
            refused_with_next += decision.next_allowed_at is not None
        now += timedelta(minutes=5)
    assert history, "some dial must be lawful in a week"
    rules = default_rules()[code]
    for past in history:
        local = past.at.astimezone(zone)
        start, stop = WINDOWS[code][local.weekday()]
        assert start <= local.hour < stop, (code, local)
    if code == "CO":
        contacts_per_day: dict[object, int] = {}
        for p in history:
            if p.contact:
                day = p.at.astimezone(zone).date()
                contacts_per_day[day] = contacts_per_day.get(day, 0) + 1
        assert max(contacts_per_day.values()) == 1
        assert all(p.at.astimezone(zone).date().isoformat() != "2026-12-08" for p in history)
    if code == "CL":
        weeks = [p.at.astimezone(zone).isocalendar()[:2] for p in history]
        assert len(weeks) == len(set(weeks))
    if code == "US":
        for p in history:
            window = [q for q in history if p.at - timedelta(days=7) < q.at <= p.at]
            assert len(window) <= 7
        talks = [p.at for p in history if p.conversation]
        for talk in talks:
            assert not [q for q in history if talk < q.at < talk + timedelta(days=7)]
    assert refused_with_next > 0
    assert rules.code == code
