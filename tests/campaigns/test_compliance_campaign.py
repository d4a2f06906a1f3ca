"""A campaign's own schedule narrows the law's table and never widens it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from voicebot.campaigns.compliance import (
    CAMPAIGN,
    DialFacts,
    Jurisdiction,
    PastAttempt,
    RulesError,
    campaign_rules,
    check,
    default_rules,
)

BOGOTA = ZoneInfo("America/Bogota")
FACTS = DialFacts(
    jurisdictions=("CO", CAMPAIGN), phone_e164="+573101234567", timezone="America/Bogota"
)


def rules(schedule: dict[str, object]) -> dict[str, Jurisdiction]:
    own = campaign_rules(schedule, "mañanas")
    assert own is not None
    return {**default_rules(), CAMPAIGN: own}


def test_narrower_campaign_hours_refuse_what_the_law_allows_and_say_when_to_come_back() -> None:
    table = rules({"hours": {"mon": ["09:00", "12:00"], "tue": ["09:00", "12:00"]}})
    early = check(FACTS, [], datetime(2026, 11, 24, 8, 0, tzinfo=BOGOTA), table)
    assert (early.allowed, early.rule) == (False, "campaign_hours")
    assert early.next_allowed_at == datetime(2026, 11, 24, 9, 0, tzinfo=BOGOTA)
    afternoon = check(FACTS, [], datetime(2026, 11, 24, 13, 0, tzinfo=BOGOTA), table)
    assert afternoon.next_allowed_at == datetime(2026, 11, 30, 9, 0, tzinfo=BOGOTA)  # next Monday
    assert check(FACTS, [], datetime(2026, 11, 24, 10, 0, tzinfo=BOGOTA), table).allowed


def test_wider_campaign_hours_never_widen_the_law() -> None:
    table = rules({"hours": {"tue": ["05:00", "23:00"]}})
    late = check(FACTS, [], datetime(2026, 11, 24, 20, 0, tzinfo=BOGOTA), table)
    assert (late.allowed, late.rule) == (False, "co_hours")


def test_a_schedule_with_only_caps_keeps_the_laws_hours() -> None:
    table = rules(
        {"caps": [{"counts": "attempts", "window": "7d", "max": 2, "rule": "campaign_two_a_week"}]}
    )
    now = datetime(2026, 11, 24, 10, 0, tzinfo=BOGOTA)
    history = [
        PastAttempt(at=datetime(2026, 11, 20, 10, 0, tzinfo=BOGOTA)),
        PastAttempt(at=datetime(2026, 11, 23, 10, 0, tzinfo=BOGOTA)),
    ]
    decision = check(FACTS, history, now, table)
    assert (decision.allowed, decision.rule) == (False, "campaign_two_a_week")
    assert decision.next_allowed_at == datetime(2026, 11, 27, 10, 0, tzinfo=BOGOTA)
    assert check(FACTS, history[:1], now, table).allowed


def test_an_empty_schedule_adds_no_table_and_a_broken_one_names_its_field() -> None:
    assert campaign_rules({}, "x") is None
    with pytest.raises(RulesError, match=r"hours\.lun"):
        campaign_rules({"hours": {"lun": ["09:00", "12:00"]}}, "x")
    with pytest.raises(RulesError, match="not a time"):
        campaign_rules({"hours": {"mon": ["nueve", "12:00"]}}, "x")


def test_new_rule_settings_are_checked_when_the_table_is_read() -> None:
    with pytest.raises(RulesError, match=r"\.week: rolling"):
        campaign_rules({"week": "quincena"}, "x")
    cap = {"counts": "attempts", "window": "7d", "max": 2, "rule": "r"}
    with pytest.raises(RulesError, match=r"caps\[0\]\.per: debtor or line"):
        campaign_rules({"caps": [{**cap, "per": "household"}]}, "x")
    with pytest.raises(RulesError, match=r"caps\[0\]\.channels"):
        campaign_rules({"caps": [{**cap, "channels": ["fax"]}]}, "x")
    calendar = campaign_rules({"week": "calendar", "caps": [{**cap, "window": "week"}]}, "x")
    assert calendar is not None and calendar.week == "calendar"
