"""May we dial this debtor now? A pure decision over data-driven rules, strictest wins.

The rules are YAML (``rules/jurisdictions.yaml``) so a compliance officer can read
them; this module only interprets. ``check`` never reads a clock or a database:
the dialer passes the facts, the history and ``now``, and logs the decision. A
refusal says which rule, why, and when the debtor may next be dialled, so the
dialer reschedules instead of spinning.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import phonenumbers
from phonenumbers import timezone as phone_timezones

from voicebot.dialog.yaml_loading import load_yaml

RULES_FILE = Path(__file__).resolve().parent / "rules" / "jurisdictions.yaml"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LOOKAHEAD_DAYS = 21


class RulesError(ValueError):
    """The rules file is malformed; the message names the jurisdiction and key."""


@dataclass(frozen=True, slots=True)
class Cap:
    rule: str
    counts: str  # attempts | contacts | conversations
    window: str  # day | week | Nd
    max: int


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    code: str
    name: str
    law: str
    hours: dict[int, tuple[time, time]]  # weekday → [start, end)
    holidays: bool
    caps: tuple[Cap, ...]
    quiet_after_conversation_days: int = 0
    consent_required_for_mobile: bool = False


@dataclass(frozen=True, slots=True)
class PastAttempt:
    """One earlier dial of this debtor, as the caps count it."""

    at: datetime
    contact: bool = False  # a human answered
    conversation: bool = False  # the right party was reached


@dataclass(frozen=True, slots=True)
class DialFacts:
    """What compliance needs to know about one dial."""

    jurisdictions: tuple[str, ...]  # the campaign's, the debtor's region, the phone's country
    phone_e164: str
    timezone: str | None = None  # the debtor's, when known
    phone_kind: str = "unknown"  # mobile | landline | unknown
    opted_out: bool = False
    disputed: bool = False
    phone_invalid: bool = False
    tcpa_consent: bool = False
    subdivision: str | None = None  # for regional holidays


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    rule: str = ""
    reason: str = ""
    next_allowed_at: datetime | None = None  # None with a refusal: never (opt-out, dispute)
    timezone: str | None = None  # the zone the decision used


def load_rules(path: Path = RULES_FILE) -> dict[str, Jurisdiction]:
    data = load_yaml(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise RulesError(f"{path}: expected a mapping of jurisdiction code → rules")
    return {str(code): _jurisdiction(str(code), raw, path) for code, raw in data.items()}


def _clock(text: Any, where: str) -> time:
    try:
        return time.fromisoformat(str(text))
    except ValueError as exc:
        raise RulesError(f"{where}: not a time {text!r}") from exc


def _jurisdiction(code: str, raw: Any, path: Path) -> Jurisdiction:
    where = f"{path.name}: {code}"
    if not isinstance(raw, dict):
        raise RulesError(f"{where}: expected a mapping")
    hours: dict[int, tuple[time, time]] = {}
    for day, span in (raw.get("hours") or {}).items():
        if day not in DAYS or not isinstance(span, list) or len(span) != 2:
            raise RulesError(f"{where}.hours.{day}: expected a weekday and [start, end]")
        hours[DAYS.index(day)] = (
            _clock(span[0], f"{where}.hours.{day}"),
            _clock(span[1], f"{where}.hours.{day}"),
        )
    caps: list[Cap] = []
    for i, cap in enumerate(raw.get("caps") or []):
        try:
            caps.append(
                Cap(str(cap["rule"]), str(cap["counts"]), str(cap["window"]), int(cap["max"]))
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RulesError(f"{where}.caps[{i}]: needs rule, counts, window, max") from exc
        if caps[-1].counts not in ("attempts", "contacts", "conversations"):
            raise RulesError(f"{where}.caps[{i}].counts: attempts, contacts or conversations")
        if caps[-1].window not in ("day", "week") and not caps[-1].window.rstrip("d").isdigit():
            raise RulesError(f"{where}.caps[{i}].window: day, week or Nd")
    return Jurisdiction(
        code=code,
        name=str(raw.get("name", code)),
        law=str(raw.get("law", "")),
        hours=hours,
        holidays=bool(raw.get("holidays", False)),
        caps=tuple(caps),
        quiet_after_conversation_days=int(raw.get("quiet_after_conversation_days", 0)),
        consent_required_for_mobile=bool(raw.get("consent_required_for_mobile", False)),
    )


CAMPAIGN = "CAMPAIGN"
ALL_DAY = ["00:00", "23:59:59.999999"]


def campaign_rules(schedule: Mapping[str, Any], campaign: str) -> Jurisdiction | None:
    """A campaign's own table (hours, caps), in the jurisdiction format; it can only tighten.

    It applies on top of the law's tables (every applicable table must allow a dial), so
    a manager can narrow hours or caps but never widen them. Days a schedule with
    ``hours`` leaves out are closed; a schedule with only ``caps`` keeps every hour.
    Holidays stay the law's business. Raises ``RulesError`` naming the bad field.
    """
    if not schedule:
        return None
    raw = {
        "hours": {day: ALL_DAY for day in DAYS},
        **schedule,
        "name": f"campaign {campaign}",
        "law": "campaign schedule",
        "holidays": False,
    }
    return _jurisdiction(CAMPAIGN, raw, Path(f"campaign {campaign}"))


@cache
def default_rules() -> dict[str, Jurisdiction]:
    return load_rules()


@cache
def _holiday_calendar(country: str, subdivision: str | None, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdivision, years=year)


def is_holiday(day: date, country: str, subdivision: str | None = None) -> bool:
    return day in _holiday_calendar(country, subdivision, day.year)


def phone_timezone(e164: str) -> str | None:
    """The phone's zone when its number maps to exactly one, else None (ambiguous or unknown)."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return None
    zones = {z for z in phone_timezones.time_zones_for_number(number) if z != "Etc/Unknown"}
    return zones.pop() if len(zones) == 1 else None


def phone_country(e164: str) -> str | None:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return None


def check(
    facts: DialFacts,
    history: Sequence[PastAttempt],
    now: datetime,
    rules: dict[str, Jurisdiction] | None = None,
) -> Decision:
    """Whether a dial at ``now`` is lawful under every applicable jurisdiction."""
    rules = rules if rules is not None else default_rules()
    if facts.opted_out:
        return Decision(False, "opt_out", "the debtor asked not to be called")
    if facts.disputed:
        return Decision(False, "dispute", "the debt is disputed: collection stops until resolved")
    if facts.phone_invalid:
        return Decision(False, "phone_invalid", "the number was marked as not the debtor's")
    unknown = [code for code in facts.jurisdictions if code not in rules]
    if unknown or not facts.jurisdictions:
        return Decision(
            False, "unknown_jurisdiction", f"no calling rules for {unknown or 'this dial'}"
        )
    zone_name = facts.timezone or phone_timezone(facts.phone_e164)
    if zone_name is None:
        return Decision(
            False,
            "ambiguous_timezone",
            f"the local time of {facts.phone_e164} cannot be known (no debtor zone; the number spans several)",
        )
    zone = ZoneInfo(zone_name)
    applicable = [rules[code] for code in dict.fromkeys(facts.jurisdictions)]
    for j in applicable:
        if (
            j.consent_required_for_mobile
            and facts.phone_kind == "mobile"
            and not facts.tcpa_consent
        ):
            return Decision(
                False,
                f"{j.code.lower()}_consent_mobile",
                f"{j.law}: an artificial voice to a cell phone needs the debtor's consent",
                timezone=zone_name,
            )
    refusal = _refusal_at(applicable, facts, history, now, zone)
    if refusal is None:
        return Decision(True, timezone=zone_name)
    rule, reason = refusal
    return Decision(
        False, rule, reason, _next_allowed(applicable, facts, history, now, zone), zone_name
    )


def _refusal_at(
    applicable: Iterable[Jurisdiction],
    facts: DialFacts,
    history: Sequence[PastAttempt],
    at: datetime,
    zone: ZoneInfo,
) -> tuple[str, str] | None:
    local = at.astimezone(zone)
    for j in applicable:
        span = j.hours.get(local.weekday())
        if span is None:
            return (
                f"{j.code.lower()}_closed_day",
                f"{j.name}: no collection calls on {DAYS[local.weekday()]}",
            )
        start, end = span
        if not start <= local.time() < end:
            return (
                f"{j.code.lower()}_hours",
                f"{j.name}: calls only {start:%H:%M}-{end:%H:%M} local time, it is {local:%H:%M}",
            )
        country = phone_country(facts.phone_e164) or j.code
        holiday_country = j.code if j.code != "US" else country
        if j.holidays and is_holiday(local.date(), holiday_country, facts.subdivision):
            return f"{j.code.lower()}_holiday", f"{j.name}: {local.date()} is a public holiday"
        for cap in j.caps:
            used = sum(
                1 for past in history if _counts(cap, past) and _same_window(cap, past.at, at, zone)
            )
            if used >= cap.max:
                return (
                    cap.rule,
                    f"{j.name}: at most {cap.max} {cap.counts} per {cap.window} ({used} already)",
                )
        if j.quiet_after_conversation_days:
            last = max((p.at for p in history if p.conversation), default=None)
            if last is not None and at < last + timedelta(days=j.quiet_after_conversation_days):
                return (
                    f"{j.code.lower()}_quiet_after_conversation",
                    f"{j.name}: no call within {j.quiet_after_conversation_days} days after a conversation",
                )
    return None


def _counts(cap: Cap, past: PastAttempt) -> bool:
    if cap.counts == "attempts":
        return True
    if cap.counts == "contacts":
        return past.contact
    return past.conversation


def _same_window(cap: Cap, past: datetime, now: datetime, zone: ZoneInfo) -> bool:
    if past > now:
        return False
    local_past, local_now = past.astimezone(zone), now.astimezone(zone)
    if cap.window == "day":
        return local_past.date() == local_now.date()
    if cap.window == "week":
        return local_past.isocalendar()[:2] == local_now.isocalendar()[:2]
    days = int(cap.window.rstrip("d"))
    return now - past < timedelta(days=days)


def _next_allowed(
    applicable: Sequence[Jurisdiction],
    facts: DialFacts,
    history: Sequence[PastAttempt],
    now: datetime,
    zone: ZoneInfo,
) -> datetime | None:
    """The first instant after ``now`` when every rule allows a dial (None past the lookahead).

    Only a few instants can be the first allowed one: a window opening, a local
    midnight or week start (day/week caps reset), or a rolling cap/quiet period
    expiring. Each candidate is checked with the same rules as ``check``.
    """
    local_now = now.astimezone(zone)
    candidates: set[datetime] = set()
    for offset in range(LOOKAHEAD_DAYS + 1):
        day = local_now.date() + timedelta(days=offset)
        midnight = datetime.combine(day, time(0), tzinfo=zone)
        candidates.add(midnight)
        for j in applicable:
            span = j.hours.get(day.weekday())
            if span is not None:
                candidates.add(datetime.combine(day, span[0], tzinfo=zone))
    for past in history:
        for j in applicable:
            for cap in j.caps:
                if cap.window.endswith("d") and cap.window != "day":
                    candidates.add(past.at + timedelta(days=int(cap.window.rstrip("d"))))
            if j.quiet_after_conversation_days and past.conversation:
                candidates.add(past.at + timedelta(days=j.quiet_after_conversation_days))
    for candidate in sorted(c for c in candidates if c > now):
        if _refusal_at(applicable, facts, history, candidate, zone) is None:
            return candidate.astimezone(zone)
    return None
