"""May we dial this debtor now? A pure decision over data-driven rules, strictest wins.

The rules are YAML (``voicebot/data/rules/jurisdictions.yaml``) so a compliance officer can read
them; this module only interprets. ``check`` never reads a clock or a database:
the dialer passes the facts, the history and ``now``, and logs the decision. A
refusal says which rule, why, and when the debtor may next be dialed, so the
dialer reschedules instead of spinning.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import phonenumbers
from phonenumbers import geocoder
from phonenumbers import timezone as phone_timezone_lookup

from voicebot.data import JURISDICTION_RULES
from voicebot.dialog.yaml_loading import load_yaml
from voicebot.domain.phone_places import phone_subdivision

RULES_FILE = JURISDICTION_RULES
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LOOKAHEAD_DAYS = 21


class RulesError(ValueError):
    """The rules file is malformed; the message names the jurisdiction and key."""


CHANNELS = ("voice", "sms", "email", "whatsapp", "agent", "visit")
TELEPHONE = ("voice", "agent")  # a call, whether this service's voice or a person's
MESSAGES = ("sms", "email", "whatsapp")
RESULTS = ("no_answer", "busy", "voicemail", "answered", "conversation")
PHONE_KINDS = ("mobile", "landline", "unknown")
WEEK_READINGS = ("rolling", "calendar")


@dataclass(frozen=True, slots=True)
class Cap:
    rule: str
    counts: str  # attempts | contacts | conversations
    window: str  # day | week | Nd
    max: int
    channels: tuple[str, ...] = CHANNELS  # which channels' contacts count toward the cap
    phone_kinds: tuple[str, ...] = PHONE_KINDS  # the cap binds only dials to these lines
    unless_consent: bool = False  # the debtor's recorded consent lifts the cap (TCPA)
    artificial_voice_only: bool = False  # only artificial/prerecorded-voice calls count
    per: str = "debtor"  # debtor | line (only contacts on the dialled number count)


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    code: str
    name: str
    law: str
    hours: dict[int, tuple[time, time]] | None  # weekday → [start, end); None: no hour rule
    holidays: bool
    caps: tuple[Cap, ...]
    quiet_after_conversation_days: int = 0
    consent_required_for_mobile: bool = False
    unknown_line_is_mobile: bool = False  # a line of unknown kind is treated as a cell phone
    week: str = "rolling"  # how "per week" reads: any 7 days (rolling) or Monday-Sunday
    authorized_channels_only: bool = False  # refuse when the debtor did not authorise voice
    one_channel_per_week_after_contact: bool = False
    # Whether a call the debtor made (to the callback number) counts toward the caps. A
    # conversation counts for quiet_after_conversation_days whoever began it.
    debtor_initiated_counts: bool = True
    text_opt_out_stops_calls: bool = False  # a STOP by text also ends automated calls
    dialog_settings: Mapping[str, Any] = field(default_factory=dict)  # what calls must say


@dataclass(frozen=True, slots=True)
class PastAttempt:
    """One earlier dial of this debtor, as the caps count it."""

    at: datetime
    contact: bool = False  # a human picked up (even to hang up), or a message was left
    conversation: bool = False  # the right party was reached
    channel: str = "voice"  # voice (this service) | sms | email | whatsapp | agent | visit
    artificial_voice: bool = True  # this service's dials are an artificial voice (FCC 24-17)
    phone: str | None = None  # the number reached, E.164; None: unknown (counts on every line)
    debtor_initiated: bool = False  # the debtor called this service (an inbound call)


def past_contact(
    at: datetime,
    channel: str,
    result: str,
    *,
    artificial_voice: bool = False,
    phone: str | None = None,
) -> PastAttempt:
    """A contact reported in the outside format (channel, result) as the caps count it.

    A message (SMS, e-mail, WhatsApp) that was not refused by the network reached the
    debtor; a voicemail left is a contact too (the strict reading of "contactar").
    Raises ``ValueError`` naming the bad field.
    """
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}, got {channel!r}")
    if result not in RESULTS:
        raise ValueError(f"result must be one of {', '.join(RESULTS)}, got {result!r}")
    if at.tzinfo is None:
        raise ValueError(f"time {at.isoformat()} has no UTC offset")
    return PastAttempt(
        at=at,
        contact=result not in ("no_answer", "busy"),
        conversation=result == "conversation",
        channel=channel,
        artificial_voice=artificial_voice,
        phone=phone or None,
    )


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
    subdivision: str | None = None  # ISO 3166-2 suffix (RM, MA): regional holidays
    authorized_channels: tuple[str, ...] | None = None  # None: not recorded
    channel: str = "voice"  # what is being sent: a call (voice) or a text (sms, whatsapp)


def facts_record(facts: DialFacts, region: str = "") -> dict[str, Any]:
    """The facts a dial was allowed on, for its audit entry: a later replay judges the dial
    on them, not on what the debtor's record says today (consent revoked since, a line
    reclassified)."""
    return {
        "region": region,
        "jurisdictions": list(facts.jurisdictions),
        "phone": facts.phone_e164,
        "timezone": facts.timezone,
        "phone_kind": facts.phone_kind,
        "tcpa_consent": facts.tcpa_consent,
        "subdivision": facts.subdivision,
        "authorized_channels": list(facts.authorized_channels)
        if facts.authorized_channels is not None
        else None,
    }


def facts_as_recorded(facts: DialFacts, record: Mapping[str, Any], campaign: str) -> DialFacts:
    """``facts`` (read from the store now) with what ``facts_record`` kept at the dial."""
    if not record:
        return facts
    channels = record.get("authorized_channels")
    subdivision = record.get("subdivision")
    return replace(
        facts,
        jurisdictions=jurisdictions_for(
            campaign, str(record.get("region") or ""), subdivision, facts.phone_e164
        ),
        timezone=record.get("timezone", facts.timezone),
        phone_kind=str(record.get("phone_kind", facts.phone_kind)),
        tcpa_consent=bool(record.get("tcpa_consent", facts.tcpa_consent)),
        subdivision=subdivision,
        authorized_channels=tuple(channels) if channels is not None else None,
    )


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


def _names(raw: Any, allowed: tuple[str, ...], where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or any(v not in allowed for v in raw):
        raise RulesError(f"{where}: expected a list of {', '.join(allowed)}")
    return tuple(str(v) for v in raw)


def _cap(raw: Any, where: str) -> Cap:
    try:
        cap = Cap(str(raw["rule"]), str(raw["counts"]), str(raw["window"]), int(raw["max"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise RulesError(f"{where}: needs rule, counts, window, max") from exc
    if str(raw.get("per", "debtor")) not in ("debtor", "line"):
        raise RulesError(f"{where}.per: debtor or line")
    if cap.counts not in ("attempts", "contacts", "conversations"):
        raise RulesError(f"{where}.counts: attempts, contacts or conversations")
    if cap.window not in ("day", "week") and not cap.window.removesuffix("d").isdigit():
        raise RulesError(f"{where}.window: day, week or Nd")
    return replace(
        cap,
        channels=_names(raw.get("channels", list(CHANNELS)), CHANNELS, f"{where}.channels"),
        phone_kinds=_names(
            raw.get("phone_kinds", list(PHONE_KINDS)), PHONE_KINDS, f"{where}.phone_kinds"
        ),
        unless_consent=bool(raw.get("unless_consent", False)),
        artificial_voice_only=bool(raw.get("artificial_voice_only", False)),
        per=str(raw.get("per", "debtor")),
    )


def _jurisdiction(code: str, raw: Any, path: Path) -> Jurisdiction:
    where = f"{path.name}: {code}"
    if not isinstance(raw, dict):
        raise RulesError(f"{where}: expected a mapping")
    hours: dict[int, tuple[time, time]] | None = None
    if "hours" in raw:
        hours = {}
        for day, span in (raw["hours"] or {}).items():
            if day not in DAYS or not isinstance(span, list) or len(span) != 2:
                raise RulesError(f"{where}.hours.{day}: expected a weekday and [start, end]")
            hours[DAYS.index(day)] = (
                _clock(span[0], f"{where}.hours.{day}"),
                _clock(span[1], f"{where}.hours.{day}"),
            )
    caps = tuple(_cap(cap, f"{where}.caps[{i}]") for i, cap in enumerate(raw.get("caps") or []))
    week = str(raw.get("week", "rolling"))
    if week not in WEEK_READINGS:
        raise RulesError(f"{where}.week: rolling (any 7 days) or calendar (Monday-Sunday)")
    return Jurisdiction(
        code=code,
        name=str(raw.get("name", code)),
        law=str(raw.get("law", "")),
        hours=hours,
        holidays=bool(raw.get("holidays", False)),
        caps=caps,
        quiet_after_conversation_days=int(raw.get("quiet_after_conversation_days", 0)),
        consent_required_for_mobile=bool(raw.get("consent_required_for_mobile", False)),
        unknown_line_is_mobile=bool(raw.get("unknown_line_is_mobile", False)),
        week=week,
        authorized_channels_only=bool(raw.get("authorized_channels_only", False)),
        one_channel_per_week_after_contact=bool(
            raw.get("one_channel_per_week_after_contact", False)
        ),
        debtor_initiated_counts=bool(raw.get("debtor_initiated_counts", True)),
        text_opt_out_stops_calls=bool(raw.get("text_opt_out_stops_calls", False)),
        dialog_settings=_dialog_settings(raw.get("dialog_settings"), where),
    )


def _dialog_settings(raw: Any, where: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise RulesError(f"{where}.dialog_settings: expected a mapping of dialplan settings")
    return {str(k): v for k, v in raw.items()}


def required_dialog_settings(jurisdiction: str) -> dict[str, Any]:
    """Dialplan settings the law imposes on a campaign's calls (the campaign cannot unset them)."""
    table = default_rules().get(jurisdiction.upper())
    return dict(table.dialog_settings) if table is not None else {}


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
    known = holidays.country_holidays(country).subdivisions
    # A subdivision the calendar does not know (a US state for Colombia) adds no holidays.
    return holidays.country_holidays(
        country, subdiv=subdivision if subdivision in known else None, years=year
    )


def is_holiday(day: date, country: str, subdivision: str | None = None) -> bool:
    return day in _holiday_calendar(country, subdivision, day.year)


def _parse(e164: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return None


def phone_timezones(e164: str) -> tuple[str, ...]:
    """Every zone the number's location points to; () when it points to no place.

    A geographic number (an area code) names the zones it spans; a non-geographic one
    (toll-free 800) lists every zone of its plan, which says nothing about the debtor.
    """
    number = _parse(e164)
    if number is None:
        return ()
    zones = sorted(
        z for z in phone_timezone_lookup.time_zones_for_number(number) if z != "Etc/Unknown"
    )
    if len(zones) > 1 and not geocoder.description_for_number(number, "en"):
        return ()
    return tuple(zones)


def phone_timezone(e164: str) -> str | None:
    """The phone's zone when its number maps to exactly one, else None (ambiguous or unknown)."""
    zones = phone_timezones(e164)
    return zones[0] if len(zones) == 1 else None


def phone_country(e164: str) -> str | None:
    number = _parse(e164)
    return phonenumbers.region_code_for_number(number) if number is not None else None


def jurisdictions_for(
    campaign: str | None,
    region: str | None,
    subdivision: str | None,
    phone_e164: str,
    rules: Mapping[str, Jurisdiction] | None = None,
) -> tuple[str, ...]:
    """Every table that binds a dial: the campaign's, the debtor's country and state, the phone's.

    The debtor's recorded state and the state of the phone's area code both apply (a
    Massachusetts debtor keeps Massachusetts' protections on a California number, and a
    617 number is presumed to reach someone in Massachusetts): the strict reading.
    """
    rules = rules if rules is not None else default_rules()
    country = (region or "")[:2].upper()
    phone_home = phone_country(phone_e164) or ""
    codes: list[str] = [campaign.upper()] if campaign else []
    for code in (country, phone_home):
        if code and code in rules and code not in codes:
            codes.append(code)
    states = [
        (country, (subdivision or "").upper()),
        (phone_home, phone_subdivision(phone_e164) or ""),
    ]
    for home, state in states:
        code = f"{home}-{state}"
        if home and state and code in rules and code not in codes:
            codes.append(code)
    return tuple(codes)


def contact_zones(facts: DialFacts) -> tuple[str, ...]:
    """The zones a dial must be convenient in: the debtor's recorded one and the phone's.

    Regulation F's commentary (12 CFR 1006.6(b)(1)(i), comment 6(b)(1)(i)-4): when the
    collector's information points to several places, a time is convenient only if it is
    convenient in all of them. The debtor's zone comes first (it names the decision).
    """
    zones = [facts.timezone] if facts.timezone else []
    for zone in phone_timezones(facts.phone_e164):
        if zone not in zones:
            zones.append(zone)
    return tuple(zones)


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
    zone_names = contact_zones(facts)
    if not zone_names:
        return Decision(
            False,
            "ambiguous_timezone",
            f"the local time of {facts.phone_e164} cannot be known (no debtor zone; the number spans several)",
        )
    zones = tuple(ZoneInfo(z) for z in zone_names)
    applicable = [rules[code] for code in dict.fromkeys(facts.jurisdictions)]
    for j in applicable:
        standing = _standing_refusal(j, facts)
        if standing is not None:
            return Decision(False, *standing, timezone=zone_names[0])
    refusal = _refusal_at(applicable, facts, history, now, zones)
    if refusal is None:
        return Decision(True, timezone=zone_names[0])
    rule, reason, zone_name = refusal
    return Decision(
        False, rule, reason, _next_allowed(applicable, facts, history, now, zones), zone_name
    )


def _standing_refusal(j: Jurisdiction, facts: DialFacts) -> tuple[str, str] | None:
    """Refusals no clock lifts: only a change of the facts (consent, authorisation) does."""
    cell = facts.phone_kind == "mobile" or (
        facts.phone_kind == "unknown" and j.unknown_line_is_mobile
    )
    # The TCPA reads an automated text to a cell phone as a call (Campbell-Ewald v. Gomez).
    automated = facts.channel in ("voice", "sms", "whatsapp")
    if j.consent_required_for_mobile and cell and automated and not facts.tcpa_consent:
        kind = "a cell phone" if facts.phone_kind == "mobile" else "a line not known to be fixed"
        what = "an artificial voice" if facts.channel == "voice" else "an automated text"
        return (
            f"{_prefix(j)}_consent_mobile",
            f"{j.law}: {what} to {kind} needs the debtor's prior express consent",
        )
    if (
        j.authorized_channels_only
        and facts.authorized_channels is not None
        and facts.channel not in facts.authorized_channels
    ):
        return (
            f"{_prefix(j)}_channel_not_authorized",
            f"{j.law}: the debtor authorised only {', '.join(facts.authorized_channels) or 'no channel'}",
        )
    return None


def _prefix(j: Jurisdiction) -> str:
    return j.code.lower().replace("-", "_")


def _time_refusal(
    j: Jurisdiction, facts: DialFacts, at: datetime, zone: ZoneInfo, several_zones: bool
) -> tuple[str, str, str] | None:
    """The day, hours or holiday rule a dial at ``at`` breaks in one of the debtor's zones."""
    local = at.astimezone(zone)
    where = f" ({zone.key})" if several_zones else ""
    span = j.hours.get(local.weekday()) if j.hours is not None else (time(0), time.max)
    if span is None:
        return (
            f"{_prefix(j)}_closed_day",
            f"{j.name}: no collection calls on {DAYS[local.weekday()]}{where}",
            zone.key,
        )
    start, end = span
    if not start <= local.time() < end:
        return (
            f"{_prefix(j)}_hours",
            f"{j.name}: calls only {start:%H:%M}-{end:%H:%M} local time, it is {local:%H:%M}{where}",
            zone.key,
        )
    country = j.code.split("-")[0]
    if j.holidays and is_holiday(local.date(), country, facts.subdivision):
        return (
            f"{_prefix(j)}_holiday",
            f"{j.name}: {local.date()} is a public holiday{where}",
            zone.key,
        )
    return None


def _refusal_at(
    applicable: Iterable[Jurisdiction],
    facts: DialFacts,
    history: Sequence[PastAttempt],
    at: datetime,
    zones: Sequence[ZoneInfo],
) -> tuple[str, str, str] | None:
    """The first rule a dial at ``at`` breaks, why, and the zone it was judged in."""
    home = zones[0]
    for j in applicable:
        for zone in zones:
            refused = _time_refusal(j, facts, at, zone, len(zones) > 1)
            if refused is not None:
                return refused
        for cap in j.caps:
            if (
                facts.channel not in cap.channels  # a cap on messages does not limit calls
                or facts.phone_kind not in cap.phone_kinds
                or (cap.unless_consent and facts.tcpa_consent)
            ):
                continue
            used = sum(
                1
                for past in history
                if _counts(cap, past)
                and (j.debtor_initiated_counts or not past.debtor_initiated)
                and (cap.per == "debtor" or past.phone in (None, facts.phone_e164))
                and _same_window(cap, j.week, past.at, at, home)
            )
            if used >= cap.max:
                return (
                    cap.rule,
                    f"{j.name}: at most {cap.max} {cap.counts} per {_window_text(cap, j)} ({used} already)",
                    home.key,
                )
        if j.quiet_after_conversation_days and facts.channel in TELEPHONE:
            last = max(
                (p.at for p in history if p.conversation and p.channel in TELEPHONE and p.at <= at),
                default=None,
            )
            if last is not None and at < last + timedelta(days=j.quiet_after_conversation_days):
                return (
                    f"{_prefix(j)}_quiet_after_conversation",
                    f"{j.name}: no call within {j.quiet_after_conversation_days} days after a conversation",
                    home.key,
                )
        if j.one_channel_per_week_after_contact:
            other = [
                p
                for p in history
                if p.contact
                and _family(p.channel) != _family(facts.channel)
                and _same_window(WEEK_CAP, j.week, p.at, at, home)
            ]
            if other:
                return (
                    f"{_prefix(j)}_one_channel_per_week",
                    f"{j.name}: the debtor was contacted by {other[-1].channel} this week; "
                    "no contact through another channel the same week",
                    home.key,
                )
    return None


WEEK_CAP = Cap("week", "contacts", "week", 1)


def _family(channel: str) -> str:
    return "telephone" if channel in TELEPHONE else channel


def _window_text(cap: Cap, j: Jurisdiction) -> str:
    if cap.window == "week":
        return "7 days" if j.week == "rolling" else "calendar week"
    return cap.window.removesuffix("d") + " days" if cap.window != "day" else "day"


def _counts(cap: Cap, past: PastAttempt) -> bool:
    if past.channel not in cap.channels:
        return False
    if cap.artificial_voice_only and not past.artificial_voice:
        return False
    if cap.counts == "attempts":
        return True
    if cap.counts == "contacts":
        return past.contact
    return past.conversation


def _window_days(cap: Cap, week: str) -> int | None:
    """A rolling window's length in days; None for a calendar day or calendar week."""
    if cap.window == "week":
        return 7 if week == "rolling" else None
    if cap.window == "day":
        return None
    return int(cap.window.removesuffix("d"))


def _same_window(cap: Cap, week: str, past: datetime, now: datetime, zone: ZoneInfo) -> bool:
    if past > now:
        return False
    local_past, local_now = past.astimezone(zone), now.astimezone(zone)
    days = _window_days(cap, week)
    if days is not None:
        return now - past < timedelta(days=days)
    if cap.window == "day":
        return local_past.date() == local_now.date()
    return local_past.isocalendar()[:2] == local_now.isocalendar()[:2]


def _next_allowed(
    applicable: Sequence[Jurisdiction],
    facts: DialFacts,
    history: Sequence[PastAttempt],
    now: datetime,
    zones: Sequence[ZoneInfo],
) -> datetime | None:
    """The first instant after ``now`` when every rule allows a dial (None past the lookahead).

    Only a few instants can be the first allowed one: a window opening or closing in any
    of the zones, a local midnight or week start (day/week caps reset), or a rolling
    cap/quiet period expiring. Each candidate is checked with the same rules as ``check``.
    """
    candidates: set[datetime] = set()
    for zone in zones:
        local_now = now.astimezone(zone)
        for offset in range(LOOKAHEAD_DAYS + 1):
            day = local_now.date() + timedelta(days=offset)
            candidates.add(datetime.combine(day, time(0), tzinfo=zone))
            for j in applicable:
                span = j.hours.get(day.weekday()) if j.hours is not None else None
                if span is not None:
                    candidates.add(datetime.combine(day, span[0], tzinfo=zone))
    for past in history:
        for j in applicable:
            for cap in j.caps:
                days = _window_days(cap, j.week)
                if days is not None:
                    candidates.add(past.at + timedelta(days=days))
            if j.quiet_after_conversation_days and past.conversation:
                candidates.add(past.at + timedelta(days=j.quiet_after_conversation_days))
            if j.one_channel_per_week_after_contact and j.week == "rolling" and past.contact:
                candidates.add(past.at + timedelta(days=7))
    for candidate in sorted(c for c in candidates if c > now):
        if _refusal_at(applicable, facts, history, candidate, zones) is None:
            return candidate.astimezone(zones[0])
    return None
