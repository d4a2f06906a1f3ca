""" "May we call now?" asked with plain JSON: the form compliance officers and other tools use.

The debtor is the ``simulate`` JSON plus optional ``region`` (ISO country), ``subdivision``
(MA, WA, RM), ``tcpa_consent`` and ``authorized_channels``; the history is JSON lines of
``{"at", "phone", "channel", "result", "artificial_voice"}``. Everything is validated here
and a bad field raises ``QueryError`` naming it, so the command can exit 2 with it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from voicebot.campaigns.compliance import (
    CHANNELS,
    PHONE_KINDS,
    Decision,
    DialFacts,
    PastAttempt,
    check,
    default_rules,
    jurisdictions_for,
    past_contact,
    phone_timezone,
)
from voicebot.campaigns.portfolio_compliance import parse_channels


class QueryError(ValueError):
    """The question cannot be asked as given; the message names the field."""


def line_kind(e164: str) -> str:
    """mobile | landline as libphonenumber knows it; unknown where it cannot (the US plan)."""
    try:
        kind = phonenumbers.number_type(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return "unknown"
    if kind == phonenumbers.PhoneNumberType.MOBILE:
        return "mobile"
    if kind == phonenumbers.PhoneNumberType.FIXED_LINE:
        return "landline"
    return "unknown"


def _e164(text: str) -> str:
    try:
        number = phonenumbers.parse(text)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"phone: not an E.164 number: {text!r}") from exc
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _zone(debtor: Mapping[str, Any]) -> str | None:
    zone = debtor.get("timezone")
    if zone is None:
        return None
    try:
        ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise QueryError(f"debtor.timezone: unknown time zone {zone!r}") from exc
    return str(zone)


def parse_time(text: str, where: str, zone: str | None) -> datetime:
    """ISO 8601; without an offset it is the debtor's local time (refused if that is unknown)."""
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise QueryError(f"{where}: not an ISO 8601 time: {text!r}") from exc
    if at.tzinfo is None:
        if zone is None:
            raise QueryError(f"{where}: {text!r} has no UTC offset and the debtor has no zone")
        at = at.replace(tzinfo=ZoneInfo(zone))
    return at


def facts_from_json(
    debtor: Any, phone: str, *, line_type: str | None = None, jurisdiction: str | None = None
) -> DialFacts:
    if not isinstance(debtor, dict):
        raise QueryError("debtor: expected a JSON object")
    try:
        number = phonenumbers.parse(phone)
    except phonenumbers.NumberParseException as exc:
        raise QueryError(f"phone: not an E.164 number: {phone!r}") from exc
    if not phonenumbers.is_valid_number(number):
        raise QueryError(f"phone: not a valid number: {phone!r}")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    kind = line_type or str(debtor.get("line_type") or "") or line_kind(e164)
    if kind not in PHONE_KINDS:
        raise QueryError(f"line type: one of {', '.join(PHONE_KINDS)}, got {kind!r}")
    channels = debtor.get("authorized_channels")
    if channels is not None:
        if not isinstance(channels, list):
            raise QueryError(f"debtor.authorized_channels: a list of {', '.join(CHANNELS)}")
        try:
            channels = list(parse_channels(",".join(str(c) for c in channels)) if channels else ())
        except ValueError as exc:
            raise QueryError(f"debtor.authorized_channels: {exc}") from exc
    for flag in ("tcpa_consent", "opted_out", "disputed"):
        if not isinstance(debtor.get(flag, False), bool):
            raise QueryError(f"debtor.{flag}: true or false")
    region = str(debtor.get("region") or "")
    # "US-MA" in region (ISO 3166-2) names the state too.
    stated = debtor.get("subdivision") or (region[3:] if region[2:3] == "-" else "")
    subdivision = str(stated).upper().split("-")[-1] or None
    if jurisdiction is not None and jurisdiction.upper() not in default_rules():
        raise QueryError(
            f"jurisdiction: no calling rules for {jurisdiction!r} "
            f"(known: {', '.join(sorted(default_rules()))})"
        )
    return DialFacts(
        jurisdictions=jurisdictions_for(jurisdiction, region, subdivision, e164),
        phone_e164=e164,
        timezone=_zone(debtor),
        phone_kind=kind,
        opted_out=bool(debtor.get("opted_out", False)),
        disputed=bool(debtor.get("disputed", False)),
        tcpa_consent=bool(debtor.get("tcpa_consent", False)),
        subdivision=subdivision,
        authorized_channels=tuple(channels) if channels is not None else None,
    )


def history_from_lines(lines: Iterable[str], zone: str | None) -> list[PastAttempt]:
    history: list[PastAttempt] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QueryError(f"history line {n}: not JSON ({exc.msg})") from exc
        if not isinstance(raw, dict) or "at" not in raw:
            raise QueryError(f"history line {n}: expected an object with at, channel, result")
        channel = str(raw.get("channel", "voice"))
        artificial = raw.get("artificial_voice", channel == "voice")
        if not isinstance(artificial, bool):
            raise QueryError(f"history line {n}: artificial_voice must be true or false")
        at = parse_time(str(raw["at"]), f"history line {n}: at", zone)
        phone = raw.get("phone")
        try:
            history.append(
                past_contact(
                    at,
                    channel,
                    str(raw.get("result", "")),
                    artificial_voice=artificial,
                    phone=_e164(str(phone)) if phone else None,
                )
            )
        except ValueError as exc:
            raise QueryError(f"history line {n}: {exc}") from exc
    return history


def ask(
    debtor: Any,
    phone: str,
    at: str,
    *,
    history: Iterable[str] = (),
    line_type: str | None = None,
    jurisdiction: str | None = None,
    channel: str = "voice",
) -> tuple[Decision, DialFacts]:
    """``channel``: a call (voice) or a text (sms, whatsapp) to ``phone``."""
    if channel not in ("voice", "sms", "whatsapp"):
        raise QueryError(f"channel: voice, sms or whatsapp, got {channel!r}")
    facts = facts_from_json(debtor, phone, line_type=line_type, jurisdiction=jurisdiction)
    facts = replace(facts, channel=channel)
    zone = facts.timezone or phone_timezone(facts.phone_e164)
    when = parse_time(at, "at", zone)
    return check(facts, history_from_lines(history, zone), when), facts


def answer_json(decision: Decision, facts: DialFacts) -> dict[str, Any]:
    rules = default_rules()
    reason = decision.reason
    if decision.allowed:
        laws = [f"{rules[c].name} ({rules[c].law})" for c in facts.jurisdictions if c in rules]
        reason = "allowed under " + "; ".join(laws)
    return {
        "allowed": decision.allowed,
        "rule": decision.rule,
        "reason": reason,
        "next_allowed_at": decision.next_allowed_at.isoformat()
        if decision.next_allowed_at
        else None,
        "timezone": decision.timezone or facts.timezone or "",
        "jurisdictions": list(facts.jurisdictions),
    }
