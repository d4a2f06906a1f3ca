"""United States: each case a compliance officer would try, and the rule that decides it.

FCC 24-17 (TCPA, AI voices), 47 CFR 64.1200(a)(3)(iii) (residential lines), Regulation F
12 CFR 1006.6(b)(1)(i) and 1006.14(b) (hours, 7-in-7, conflicting locations), 940 CMR
7.04(1)(f) (Massachusetts), RCW 19.16.250(13) (Washington).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from voicebot.campaigns.compliance import (
    DialFacts,
    PastAttempt,
    check,
    jurisdictions_for,
    past_contact,
)
from voicebot.campaigns.portfolio_rows import normalize_phone
from voicebot.domain.phone_places import phone_subdivision

NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=NEW_YORK)
SF_MOBILE = "+14155552671"  # (415) 555-2671, the review's example
NY_LINE = "+12125550199"
BOSTON = "+16175550123"
SEATTLE = "+12065550123"


def us(phone: str = NY_LINE, kind: str = "unknown", **more: object) -> DialFacts:
    return DialFacts(
        jurisdictions_for("US", "US", more.pop("subdivision", None), phone),  # type: ignore[arg-type]
        phone,
        more.pop("timezone", "America/New_York"),  # type: ignore[arg-type]
        kind,
        **more,  # type: ignore[arg-type]
    )


def test_finding_1_a_us_number_of_unknown_kind_without_consent_is_refused() -> None:
    """FCC 24-17: an AI voice is an artificial voice; (415) 555-2671 cannot be shown to be fixed."""
    assert normalize_phone("(415) 555-2671", "US").kind == "unknown"  # the import cannot tell
    facts = us(SF_MOBILE, "unknown", timezone="America/Los_Angeles")
    decision = check(facts, [], datetime(2026, 11, 24, 10, 0, tzinfo=LOS_ANGELES))
    assert (decision.allowed, decision.rule, decision.next_allowed_at) == (
        False,
        "us_consent_mobile",
        None,  # no clock lifts it: only recorded consent does
    )
    assert "prior express consent" in decision.reason
    consented = replace(facts, tcpa_consent=True)
    assert check(consented, [], datetime(2026, 11, 24, 10, 0, tzinfo=LOS_ANGELES)).allowed
    # A line the portfolio says is residential needs no consent for its first calls.
    at_ten = datetime(2026, 11, 24, 10, 0, tzinfo=LOS_ANGELES)
    assert check(replace(facts, phone_kind="landline"), [], at_ten).allowed


def test_finding_2_a_residential_line_without_consent_gets_3_calls_in_30_days() -> None:
    """47 CFR 64.1200(a)(3)(iii): 3 artificial-voice calls in any 30 consecutive days."""
    landline = us(NY_LINE, "landline")
    days = [TUESDAY_10 + timedelta(days=d) for d in (0, 9, 18)]
    history = [PastAttempt(at) for at in days]
    fourth = check(landline, history, TUESDAY_10 + timedelta(days=25))
    assert fourth.rule == "us_tcpa_landline_3_in_30"
    assert fourth.next_allowed_at == days[0] + timedelta(days=30)  # the oldest call ages out
    # The limit is "to the residential line": calls to the debtor's other line do not count,
    # calls whose number is unknown do (strict).
    other_line = [replace(p, phone="+12125550100") for p in history]
    assert check(landline, other_line, TUESDAY_10 + timedelta(days=25)).allowed
    this_line = [replace(p, phone=NY_LINE) for p in history]
    assert check(landline, this_line, TUESDAY_10 + timedelta(days=25)).rule == fourth.rule
    # Calls by a person (an agent) are not artificial-voice calls: they do not count here.
    people = [past_contact(at, "agent", "no_answer") for at in days]
    assert check(landline, people, TUESDAY_10 + timedelta(days=25)).allowed
    # With consent the exemption's limit does not apply (Regulation F's 7-in-7 still does).
    assert check(
        replace(landline, tcpa_consent=True), history, days[-1] + timedelta(days=7)
    ).allowed


def test_finding_3_conflicting_zones_call_only_when_convenient_in_both() -> None:
    """Reg F comment 6(b)(1)(i)-4: a New York debtor on a California number."""
    facts = us(SF_MOBILE, "mobile", tcpa_consent=True)
    early = check(facts, [], datetime(2026, 11, 24, 8, 30, tzinfo=NEW_YORK))  # 05:30 in SF
    assert (early.allowed, early.rule, early.timezone) == (False, "us_hours", "America/Los_Angeles")
    assert early.next_allowed_at == datetime(2026, 11, 24, 11, 0, tzinfo=NEW_YORK)  # 08:00 PT
    late = check(facts, [], datetime(2026, 11, 24, 19, 0, tzinfo=LOS_ANGELES))  # 22:00 in NY
    assert (late.rule, late.timezone) == ("us_hours", "America/New_York")
    assert check(facts, [], datetime(2026, 11, 24, 11, 0, tzinfo=NEW_YORK)).allowed
    # A toll-free number points to no place: the debtor's zone alone decides.
    toll_free = us("+18005550199", "landline")
    assert check(toll_free, [], datetime(2026, 11, 24, 8, 30, tzinfo=NEW_YORK)).allowed


def test_finding_4_massachusetts_two_calls_in_seven_days_unanswered_ones_included() -> None:
    """940 CMR 7.04(1)(f): at most two telephone communications per 7 days."""
    facts = us(NY_LINE, "mobile", tcpa_consent=True, subdivision="MA")
    assert "US-MA" in facts.jurisdictions
    history = [PastAttempt(TUESDAY_10), PastAttempt(TUESDAY_10 + timedelta(days=1))]  # no answer
    third = check(facts, history, TUESDAY_10 + timedelta(days=3))
    assert third.rule == "us_ma_2_in_7"
    assert third.next_allowed_at == TUESDAY_10 + timedelta(days=7)
    # A text message sent from another system counts as a communication too.
    texted = [
        PastAttempt(TUESDAY_10),
        past_contact(TUESDAY_10 + timedelta(hours=2), "sms", "answered"),
    ]
    assert check(facts, texted, TUESDAY_10 + timedelta(days=1)).rule == "us_ma_2_in_7"
    # E-mail is not a telephone communication under the rule.
    mailed = [PastAttempt(TUESDAY_10), past_contact(TUESDAY_10, "email", "answered")]
    assert check(facts, mailed, TUESDAY_10 + timedelta(days=1)).allowed


def test_finding_4_the_state_comes_from_the_portfolio_or_the_area_code() -> None:
    assert phone_subdivision(BOSTON) == "MA"
    assert phone_subdivision(SEATTLE) == "WA"
    assert phone_subdivision(SF_MOBILE) == "CA"
    # No state recorded, a 617 number: Massachusetts applies. A recorded MA debtor on a
    # New York number: Massachusetts still applies. Both: both.
    assert jurisdictions_for("US", "US", None, BOSTON) == ("US", "US-MA")
    assert jurisdictions_for("US", "US", "MA", NY_LINE) == ("US", "US-MA")
    assert jurisdictions_for("US", "US", "WA", BOSTON) == ("US", "US-WA", "US-MA")
    assert jurisdictions_for("CO", "CO", None, "+573101234567") == ("CO",)


def test_finding_4_washington_three_calls_a_week_and_federal_hours_still_bind() -> None:
    """RCW 19.16.250(13): 07:30-21:00 and at most three telephone communications a week."""
    seattle = ZoneInfo("America/Los_Angeles")
    facts = us(SEATTLE, "mobile", tcpa_consent=True, timezone="America/Los_Angeles")
    assert facts.jurisdictions == ("US", "US-WA")
    # 07:45 is inside Washington's window but Regulation F's 08:00 is stricter.
    assert check(facts, [], datetime(2026, 11, 24, 7, 45, tzinfo=seattle)).rule == "us_hours"
    start = datetime(2026, 11, 23, 9, 0, tzinfo=seattle)
    three = [PastAttempt(start + timedelta(days=d)) for d in range(3)]
    # Monday 30th is a new calendar week but not 7 days after the 2nd call: the strict reading.
    refused = check(facts, three, datetime(2026, 11, 29, 10, 0, tzinfo=seattle))
    assert refused.rule == "us_wa_3_per_week"
    assert refused.next_allowed_at == start + timedelta(days=7)


def test_finding_7_an_agents_conversation_elsewhere_starts_the_7_day_quiet_period() -> None:
    """12 CFR 1006.14(b)(2)(ii): no call within 7 days after a telephone conversation."""
    facts = us(NY_LINE, "landline", tcpa_consent=True)
    talked = [past_contact(TUESDAY_10, "agent", "conversation")]
    decision = check(facts, talked, TUESDAY_10 + timedelta(days=2))
    assert decision.rule == "us_quiet_after_conversation"
    assert decision.next_allowed_at == TUESDAY_10 + timedelta(days=7)
    # Seven agent call attempts elsewhere fill Regulation F's 7-in-7 as well.
    tries = [past_contact(TUESDAY_10 + timedelta(hours=h), "agent", "no_answer") for h in range(7)]
    assert check(facts, tries, TUESDAY_10 + timedelta(days=1)).rule == "us_7_in_7"


@pytest.mark.parametrize(
    "case",
    ["no_consent_unknown_line", "landline_no_consent", "massachusetts", "conflicting_zones"],
)
def test_a_simulated_us_week_of_greedy_dialling_never_breaks_a_rule(case: str) -> None:
    """Dial whenever allowed, every 10 minutes for 8 days; audit the result independently."""
    facts = {
        "no_consent_unknown_line": us(SF_MOBILE, "unknown", timezone="America/Los_Angeles"),
        "landline_no_consent": us(NY_LINE, "landline"),
        "massachusetts": us(BOSTON, "mobile", tcpa_consent=True),
        "conflicting_zones": us(SF_MOBILE, "mobile", tcpa_consent=True),
    }[case]
    history: list[PastAttempt] = []
    now = datetime(2026, 11, 23, 0, 0, tzinfo=NEW_YORK)
    while now < datetime(2026, 12, 1, 0, 0, tzinfo=NEW_YORK):
        decision = check(facts, history, now)
        if decision.allowed:
            history.append(PastAttempt(now))  # nobody answers: only the caps stop us
        else:
            assert decision.next_allowed_at is None or decision.next_allowed_at > now
        now += timedelta(minutes=10)
    for p in history:
        for zone in (NEW_YORK, LOS_ANGELES) if case == "conflicting_zones" else (NEW_YORK,):
            assert 8 <= p.at.astimezone(zone).hour < 21, (case, p.at)
    in_7 = (
        max(sum(1 for q in history if p.at - timedelta(days=7) < q.at <= p.at) for p in history)
        if history
        else 0
    )
    if case == "no_consent_unknown_line":
        assert history == []  # never: consent is missing
    elif case == "landline_no_consent":
        assert len(history) == 3  # 3 in 30 days, the first three opportunities
    elif case == "massachusetts":
        assert in_7 == 2 and len(history) == 4  # two on Monday 23rd, two on Monday 30th
    else:
        assert in_7 == 7  # only Regulation F's 7-in-7 binds
        assert min(p.at.astimezone(LOS_ANGELES).hour for p in history) == 8
