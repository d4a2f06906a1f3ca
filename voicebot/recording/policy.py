"""Which recording rules apply to one call: retention and the notice, with the rule that says so.

Pure: the rules (the packaged ``data/rules/recordings.yaml``), the call's jurisdictions, the debtor's
region (``US-CA``) and the campaign's own ``recording_policy`` in, a ``RecordingPolicy`` out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from voicebot.data import RECORDING_RULES

RULES_PATH = RECORDING_RULES


class RecordingRulesError(ValueError):
    """The rules file or a campaign's recording policy is malformed."""


@dataclass(frozen=True, slots=True)
class RecordingPolicy:
    notice: bool
    notice_rule: str  # why the notice is (or is not) given
    retention_days: int
    retention_rule: str


@cache
def default_recording_rules() -> Mapping[str, Any]:
    return load_rules(RULES_PATH)


def load_rules(path: Path) -> Mapping[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "default" not in data:
        raise RecordingRulesError(f"{path}: needs a `default` section")
    days = data["default"].get("retention_days")
    if not isinstance(days, int) or days <= 0:
        raise RecordingRulesError(f"{path}: default.retention_days must be a positive integer")
    for code, rule in (data.get("jurisdictions") or {}).items():
        if not isinstance(rule, dict) or not isinstance(rule.get("retention_days"), int):
            raise RecordingRulesError(f"{path}: jurisdictions.{code}.retention_days is missing")
    return data


def campaign_recording_policy(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """A campaign's ``recording_policy`` checked: ``notice`` (bool), ``retention_days`` (> 0)."""
    policy = dict(raw or {})
    unknown = sorted(set(policy) - {"notice", "retention_days"})
    if unknown:
        raise RecordingRulesError(f"recording_policy: unknown keys {unknown}")
    if "notice" in policy and not isinstance(policy["notice"], bool):
        raise RecordingRulesError("recording_policy.notice must be true or false")
    days = policy.get("retention_days")
    if days is not None and (not isinstance(days, int) or isinstance(days, bool) or days <= 0):
        raise RecordingRulesError("recording_policy.retention_days must be a positive integer")
    return policy


def recording_policy(
    jurisdictions: Sequence[str],
    region: str,
    campaign: Mapping[str, Any] | None = None,
    rules: Mapping[str, Any] | None = None,
) -> RecordingPolicy:
    """Notice if any law applying to the call asks for it, or the campaign does.

    Retention is the longest period among the applicable jurisdictions (a record one
    law asks to keep is kept), or the campaign's, if longer.
    """
    rules = rules if rules is not None else default_recording_rules()
    own = campaign_recording_policy(campaign)
    table: Mapping[str, Any] = rules.get("jurisdictions") or {}
    country, _, state = region.upper().partition("-")
    codes = [c for c in dict.fromkeys([*jurisdictions, country]) if c in table]

    notice, notice_rule = False, "no law applying to this call requires it"
    for code in codes:
        consent = table[code].get("all_party_consent") or {}
        if code == country and state in consent:
            notice, notice_rule = True, f"{code}-{state} all-party consent: {consent[state]}"
            break
        if table[code].get("notice") is True:
            notice, notice_rule = True, f"{code}: {table[code].get('why', '')}"
            break
    if not notice and own.get("notice") is True:
        notice, notice_rule = True, "campaign recording_policy.notice"

    days = int(rules["default"]["retention_days"])
    retention_rule = f"default: {rules['default'].get('why', '')}"
    for code in codes:
        if int(table[code]["retention_days"]) >= days:
            days = int(table[code]["retention_days"])
            retention_rule = f"{code}: {table[code].get('why', '')}"
    if own.get("retention_days") is not None and int(own["retention_days"]) > days:
        days, retention_rule = (
            int(own["retention_days"]),
            "campaign recording_policy.retention_days",
        )
    return RecordingPolicy(notice, notice_rule[:120], days, retention_rule[:120])
