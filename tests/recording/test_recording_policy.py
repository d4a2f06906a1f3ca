"""Which calls open with the recording notice, and how long recordings are kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from recording_world import CALL_START, migrated_sessions, seed_attempt

from voicebot.recording.phone_state import us_region_of_phone
from voicebot.recording.policy import (
    RecordingRulesError,
    default_recording_rules,
    load_rules,
    recording_policy,
)
from voicebot.recording.service import CallRecordings
from voicebot.recording.store import LocalStore


@pytest.mark.parametrize("state", ["CA", "FL", "WA", "PA", "IL"])
def test_all_party_consent_states_require_the_notice(state: str) -> None:
    policy = recording_policy(["US"], f"US-{state}")
    assert policy.notice
    assert policy.notice_rule.startswith(f"US-{state} all-party consent")


def test_one_party_states_and_latin_america_leave_it_to_the_campaign() -> None:
    assert not recording_policy(["US"], "US-TX").notice
    assert not recording_policy(["CO"], "CO").notice
    assert recording_policy(["CO"], "CO", {"notice": True}).notice


def test_a_campaign_cannot_drop_a_notice_the_law_asks_for() -> None:
    policy = recording_policy(["US"], "US-CA", {"notice": False})
    assert policy.notice and "632" in policy.notice_rule


def test_a_debtor_living_in_california_is_covered_whatever_the_campaign_jurisdiction() -> None:
    assert recording_policy(["CO"], "US-CA").notice


def test_retention_defaults_to_two_years_and_a_campaign_may_only_lengthen_it() -> None:
    assert recording_policy(["CL"], "CL").retention_days == 730
    assert recording_policy(["CL"], "CL", {"retention_days": 3650}).retention_days == 3650
    shorter = recording_policy(["CL"], "CL", {"retention_days": 30})
    assert shorter.retention_days == 730 and shorter.retention_rule.startswith("CL")


@pytest.mark.parametrize(
    "bad",
    [{"notice": "yes"}, {"retention_days": 0}, {"retention_days": True}, {"keep": 3}],
)
def test_a_malformed_campaign_policy_is_refused_with_its_field(bad: dict[str, object]) -> None:
    with pytest.raises(RecordingRulesError, match="recording_policy"):
        recording_policy(["CO"], "CO", bad)


def test_the_shipped_rules_load_and_a_broken_file_is_refused(tmp_path: Path) -> None:
    assert default_recording_rules()["default"]["retention_days"] == 730
    broken = tmp_path / "rules.yaml"
    broken.write_text("default: {retention_days: -1}\n", encoding="utf-8")
    with pytest.raises(RecordingRulesError, match="retention_days"):
        load_rules(broken)


@pytest.mark.parametrize(
    ("e164", "region"),
    [
        ("+14155550123", "US-CA"),  # "San Francisco, CA"
        ("+13055550123", "US-FL"),  # "Florida"
        ("+12065550123", "US-WA"),  # "Washington State"
        ("+12145550123", "US-TX"),
        ("+18005550123", None),  # toll-free: no place
        ("+573001112233", None),  # not a US number
        ("not a number", None),
    ],
)
def test_the_state_of_a_us_area_code(e164: str, region: str | None) -> None:
    assert us_region_of_phone(e164) == region


def test_a_californian_number_gets_the_notice_when_the_region_says_only_us(
    tmp_path: Path,
) -> None:
    sessions = migrated_sessions(tmp_path)
    store = LocalStore(tmp_path / "rec")
    recordings = CallRecordings(sessions, store)
    by_phone = seed_attempt(
        sessions, name="ca", jurisdiction="US", region="US", e164="+14155550123"
    )
    by_region = seed_attempt(
        sessions, name="tx", jurisdiction="US", region="US-TX", e164="+12145550123"
    )
    for seeded, notice in ((by_phone, True), (by_region, False)):
        active = recordings.start(seeded.attempt_id, _NoLine(), CALL_START)
        assert active.policy.notice is notice, active.policy
        active.leg.writer.close()


class _NoLine:
    call_id = "none"
