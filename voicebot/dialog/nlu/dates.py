"""Days and callback times, relative to the call date in the debtor's zone.

Readings chosen where Spanish is vague (tests pin each one):
- a weekday ("el viernes", "este viernes", "el próximo viernes") is the next such
  day strictly after today, so on a Monday "el lunes" is a week away; "el otro
  viernes" / "el viernes de la otra semana" is that weekday in the following week;
- "el quince" is the next 15th on or after today; a day past the month's end
  ("el treinta y uno" in November) is the month's last day;
- "la otra / la próxima semana" is next Monday; "esta semana" is this Friday;
  "el fin de semana" the coming Saturday;
- "el próximo mes", "a principios del próximo mes" are the 1st of next month;
- "en ocho días" is one week and "en quince días" two, as said in Latin America;
- "la quincena" is the 15th or the month's last day, whichever comes first;
- "al tiro" (Chile), "ahorita", "hoy mismo", "ya mismo" are today, unless another
  day is named too ("ahorita no, mañana" is tomorrow);
- "de hoy en ocho" (Colombia) is a week from today; "a mediados de mes" the 15th;
- "el martes primero de diciembre": the day of the month decides, not the weekday;
- when the debtor speaks of a payment made ("ya pagué el sábado"), weekdays and
  days of the month are the latest ones on or before today;
- "hace dos semanas", "hace un mes", "la semana pasada" (a week ago), "el mes pasado" (that
  day last month) are days gone by; "el jueves no, el viernes" is Friday;
- "a las tres" without am/pm: 1–7 o'clock are afternoon (collection calls happen
  in business hours), 8–12 morning; "en la mañana" 09:00, "en la tarde" 15:00,
  "en la noche" 19:00, "al mediodía" 12:00; "en un rato" one hour.
A clock time with no day is today, or tomorrow when it has already passed.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from voicebot.dialog.nlu.numbers import NumberSpan

WEEKDAYS = {
    "lunes": 0,
    "martes": 1,
    "miercoles": 2,
    "jueves": 3,
    "viernes": 4,
    "sabado": 5,
    "domingo": 6,
    # US Latinos often say the weekday in English.
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}
MONTHS = {
    "enero": 1,
    "febrero": 2,
    "marzo": 3,
    "abril": 4,
    "mayo": 5,
    "junio": 6,
    "julio": 7,
    "agosto": 8,
    "septiembre": 9,
    "setiembre": 9,
    "octubre": 10,
    "noviembre": 11,
    "diciembre": 12,
}
_NEXT = frozenset({"proximo", "proxima", "siguiente", "otro", "otra", "entrante"})
_TODAY_WORDS = frozenset({"hoy", "ahorita", "ahoritita"})
_MORNING = time(9, 0)
_AFTERNOON = time(15, 0)
_EVENING = time(19, 0)
_NOON = time(12, 0)


@dataclass(slots=True)
class When:
    """What the utterance says about when: a day, a clock time, a delay from now."""

    day: date | None = None
    clock: time | None = None
    delay: timedelta | None = None
    claimed: set[int] = field(default_factory=set)  # token indices used, not money
    # "hoy", "ahorita": only when no other day is named ("ahorita no, mañana").
    loose_day: date | None = None
    only_loose: bool = False  # the only day named is "hoy"/"ahorita"
    past: bool = False  # the debtor speaks of a payment made: weekdays and days look back

    def set_day(self, day: date) -> None:
        if self.day is None:
            self.day = day


def _at(words: Sequence[str], i: int) -> str:
    return words[i] if 0 <= i < len(words) else ""


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _next_month_first(day: date) -> date:
    return (_month_end(day) + timedelta(days=1)).replace(day=1)


def _day_of_month(
    today: date, dom: int, month: int | None = None, next_month: bool = False
) -> date:
    """The day `dom` of the given month (this year, or next if passed), or the next one."""
    if month is not None:
        for year in (today.year, today.year + 1):
            last = calendar.monthrange(year, month)[1]
            candidate = date(year, month, min(dom, last))
            if candidate >= today:
                return candidate
        return candidate
    first = _next_month_first(today) if next_month else today.replace(day=1)
    for _ in range(2):
        candidate = first.replace(day=min(dom, calendar.monthrange(first.year, first.month)[1]))
        if candidate >= today:
            return candidate
        first = _next_month_first(first)
    return candidate


def _last_day_of_month_before(today: date, dom: int, month: int | None) -> date:
    """The latest day `dom` (of `month`, if given) on or before today: a payment made."""
    year, mon = today.year, today.month
    for _ in range(24):
        if month is None or mon == month:
            candidate = date(year, mon, min(dom, calendar.monthrange(year, mon)[1]))
            if candidate <= today:
                return candidate
        year, mon = (year, mon - 1) if mon > 1 else (year - 1, 12)
    return today


def _next_weekday(today: date, weekday: int) -> date:
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def _weekday(words: Sequence[str], i: int, today: date, past: bool) -> date:
    weekday = WEEKDAYS[words[i]]
    after = " ".join(words[i + 1 : i + 5])
    if after.startswith("pasado") or (_at(words, i - 1) == "pasado") or past:
        return today - timedelta(days=(today.weekday() - weekday - 1) % 7 + 1)
    if _at(words, i - 1) == "este" and weekday == today.weekday():
        return today
    said = f" {' '.join(words)} "
    following = _at(words, i - 1) == "otro" or any(
        f" {w} semana " in said for w in ("otra", "proxima", "siguiente")
    )
    if following or " semana que viene " in said or " semana entrante " in said:
        monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
        return monday + timedelta(days=weekday)
    return _next_weekday(today, weekday)


def _half_month(today: date) -> date:
    fifteenth = today.replace(day=15)
    return fifteenth if today <= fifteenth else _month_end(today)


def _phrase_days(text: str, today: date) -> date | None:
    """Days named by fixed phrases, not by numbers or weekdays."""
    padded = f" {text} "
    if any(
        f" {p} " in padded for p in ("fin de mes", "final de mes", "finales de mes", "fines de mes")
    ):
        return _month_end(today)
    if any(f" {p} " in padded for p in ("fin del mes", "final del mes", "ultimo dia del mes")):
        return _month_end(today)
    if " de hoy en ocho " in padded:
        return today + timedelta(days=7)  # Colombia: a week from today
    if " de hoy en quince " in padded:
        return today + timedelta(days=14)
    middle = re.search(r" mediados (?:de|del) (?:(?:este |proximo |siguiente )?mes|(\w+)) ", padded)
    if middle is not None and (middle.group(1) is None or middle.group(1) in MONTHS):
        month = MONTHS.get(middle.group(1) or "")
        return _day_of_month(today, 15, month, next_month=" proximo " in middle.group(0))
    if " quincena " in padded:
        return _half_month(today)
    starts = ("principios", "principio", "comienzos", "comienzo", "inicios", "inicio")
    months = ("proximo mes", "siguiente mes", "otro mes", "mes que viene", "mes entrante")
    if any(f" {p} " in padded for p in months) or any(f" {s} de mes " in padded for s in starts):
        return _next_month_first(today)
    if " semana pasada " in padded:
        return today - timedelta(days=7)  # a payment "la semana pasada": about a week ago
    if " mes pasado " in padded:
        month = today.month - 2
        year, month = today.year + month // 12, month % 12 + 1
        return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))
    weeks = ("otra semana", "proxima semana", "siguiente semana", "semana que viene")
    if any(f" {p} " in padded for p in weeks):
        return today + timedelta(days=7 - today.weekday())
    if " fin de semana " in padded or " finde " in padded:
        return today + timedelta(days=(5 - today.weekday()) % 7)
    if " esta semana " in padded:
        return max(today, today + timedelta(days=4 - today.weekday()))
    return None


_UNIT_DAYS = {"dia": 1, "dias": 1, "semana": 7, "semanas": 7}
_UNIT_TIME = {"hora": 60, "horas": 60, "minuto": 1, "minutos": 1, "min": 1}


def _delay(words: Sequence[str], span: NumberSpan, today: date, when: When) -> bool:
    """ "en dos semanas", "dentro de ocho días", "en una hora": claim and record the delay."""
    before = _at(words, span.start - 1)
    if before == "unos":
        before = _at(words, span.start - 2)
    if before not in ("en", "de", "hace"):
        return False
    unit = _at(words, span.end)
    count = int(span.value)
    if before == "hace":
        # "lo pagué hace dos semanas": a day gone by.
        if unit in _UNIT_DAYS:
            when.set_day(today - timedelta(days=count * _UNIT_DAYS[unit]))
        elif unit in ("mes", "meses") and count <= 12:
            month = today.month - 1 - count
            year, month = today.year + month // 12, month % 12 + 1
            when.set_day(date(year, month, min(today.day, calendar.monthrange(year, month)[1])))
        else:
            return False
    elif unit in _UNIT_DAYS:
        days = count * _UNIT_DAYS[unit]
        if unit in ("dia", "dias") and count in (8, 15):
            days = count - 1  # "ocho días" is a week, "quince días" two
        when.set_day(today + timedelta(days=days))
    elif unit in ("mes", "meses") and count <= 12:
        month = today.month - 1 + count
        year, month = today.year + month // 12, month % 12 + 1
        when.set_day(date(year, month, min(today.day, calendar.monthrange(year, month)[1])))
    elif unit in _UNIT_TIME:
        minutes = int(span.value * _UNIT_TIME[unit])
        if unit in ("hora", "horas") and words[span.end + 1 : span.end + 3] == ["y", "media"]:
            minutes += 30
        when.delay = when.delay or timedelta(minutes=minutes)
    else:
        return False
    when.claimed.update(range(span.start, span.end + 1))
    return True


def _hour(words: Sequence[str], span: NumberSpan, when: When) -> bool:
    """ "a las tres", "a la una y media", "tipo 4 de la tarde": a clock time."""
    before = _at(words, span.start - 1)
    after = " ".join(words[span.end : span.end + 3])
    marked = after.startswith(
        ("de la tarde", "de la noche", "de la manana", "pm", "am", "p m", "a m")
    )
    hour_word = after.startswith(("hora", "horas", "hrs", "en punto"))
    if before not in ("las", "la", "tipo") and not marked and not hour_word:
        return False
    if span.scaled or span.value != int(span.value) or not 0 <= span.value <= 24:
        return False
    hour, minute = int(span.value), 0
    j = span.end
    tail = words[j : j + 2]
    if tail == ["y", "media"]:
        minute, j = 30, j + 2
    elif tail == ["y", "cuarto"]:
        minute, j = 15, j + 2
    elif tail == ["menos", "cuarto"]:
        hour, minute, j = hour - 1, 45, j + 2
    elif len(tail) == 2 and tail[0] == "y" and tail[1] in _MINUTE_WORDS:
        minute, j = _MINUTE_WORDS[tail[1]], j + 2
    elif len(tail) == 2 and tail[0] == "y" and tail[1].isdigit() and int(tail[1]) < 60:
        minute, j = int(tail[1]), j + 2
    after = " ".join(words[j : j + 3])
    if after.startswith(("de la tarde", "de la noche", "pm", "p m")):
        hour += 12 if hour < 12 else 0
    elif after.startswith(("de la manana", "am", "a m")):
        hour = 0 if hour == 12 else hour
    elif 1 <= hour <= 7:
        hour += 12  # business hours: "a las tres" is 15:00
    when.clock = when.clock or time(hour % 24, minute)
    when.claimed.update(range(span.start, j))
    return True


# "el primero" is the 1st when a date or a verb follows, not in "el primero que llegue".
_AFTER_FIRST = frozenset(
    {"", "de", "del", "le", "les", "te", "lo", "la", "pago", "a", "en", "y", "sin"}
)
_MINUTE_WORDS = {"diez": 10, "quince": 15, "veinte": 20, "treinta": 30, "cuarenta": 40, "cinco": 5}


def _calendar_day(words: Sequence[str], span: NumberSpan, today: date, when: When) -> bool:
    """ "el quince", "el 5 de diciembre", "el dos del próximo mes"."""
    if span.scaled or span.value != int(span.value) or not 1 <= span.value <= 31:
        return False
    dom = int(span.value)
    j = span.end
    after = words[j : j + 4]
    month: int | None = None
    next_month = False
    if after[:1] == ["de"] and _at(words, j + 1) in MONTHS:
        month, j = MONTHS[words[j + 1]], j + 2
    elif _at(words, j) in MONTHS:
        month, j = MONTHS[words[j]], j + 1
    elif after[:3] == ["de", "este", "mes"]:
        j += 3
    elif after[:1] == ["del"] and _at(words, j + 1) in ("mes", "proximo", "otro", "siguiente"):
        phrase = " ".join(after)
        next_month = any(w in phrase for w in ("proximo", "otro", "siguiente", "que viene"))
        j += 2
    elif (
        _at(words, span.start - 1)
        not in ("el", "dia", "este", "hasta", "para", "antes", "del", *WEEKDAYS)
        or _at(words, j) in _NOT_A_DAY
    ):
        return False
    if month is not None and _at(words, j) in ("de", "del") and _at(words, j + 1).isdigit():
        j += 2  # the year: "el 5 de diciembre de 2026"
    day = _day_of_month(today, dom, month, next_month)
    if when.past and day > today and not next_month:
        day = _last_day_of_month_before(today, dom, month)
    when.set_day(day)
    when.claimed.update(range(span.start, j))
    return True


# After "el <number>", these make it not a day: "el 20 por ciento", "el dos mil".
_NOT_A_DAY = frozenset({"por", "porciento", "cuotas", "pesos", "dolares", "soles", "de", "mil"})


def _slash_date(token: str, today: date) -> date | None:
    """ "5/12" or "5-12-2026": day first, as written in Latin America."""
    parts = token.replace("-", "/").split("/")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        return None
    dom, month = int(parts[0]), int(parts[1])
    if not (1 <= dom <= 31 and 1 <= month <= 12):
        return None
    if len(parts) == 3:
        year = int(parts[2]) + (2000 if len(parts[2]) == 2 else 0)
        return date(year, month, min(dom, calendar.monthrange(year, month)[1]))
    return _day_of_month(today, dom, month)


def _clock_token(token: str) -> time | None:
    hours, sep, minutes = token.partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit():
        return None
    h, m = int(hours), int(minutes)
    if not (0 <= h <= 23 and 0 <= m <= 59):
        return None
    return time(h + 12 if 1 <= h <= 7 else h, m)


def read_when(
    words: Sequence[str], spans: Sequence[NumberSpan], today: date, *, past: bool = False
) -> When:
    """Every day, clock time and delay the utterance names; the first of each wins.

    With `past`, the debtor speaks of a payment already made, so "el sábado" and
    "el quince" are the latest such days, not the next ones.
    """
    when = When(past=past)
    for span in spans:
        (
            _delay(words, span, today, when)
            or _hour(words, span, when)
            or _calendar_day(words, span, today, when)
        )
    for i in range(len(words)):
        if not _day_word(words, i, today, when):
            _time_word(words, i, today, when)
    phrase = _phrase_days(" ".join(words), today)
    if phrase is not None:
        when.set_day(phrase)
    if when.loose_day is not None and when.day is None:
        when.day, when.only_loose = when.loose_day, True
    return when


def _day_word(words: Sequence[str], i: int, today: date, when: When) -> bool:
    """Read ``words[i]`` if it names a day; whether it did."""
    word, before = words[i], _at(words, i - 1)
    if word == "manana":
        if before == "pasado":
            when.set_day(today + timedelta(days=2))
        elif before in ("la", "esta"):
            when.clock = when.clock or _MORNING
            if before == "esta":
                when.set_day(today)
        elif before not in ("una", "cada", "las", "de") or _at(words, i - 2) == "dia":
            # "el día de mañana" is tomorrow too
            when.set_day(today + timedelta(days=1))
        return True
    if (
        word in _TODAY_WORDS
        or (word == "tiro" and before == "al")
        or (word == "mismo" and before in ("ya", "ahora"))
    ):
        when.loose_day = today
        return True
    if word == "ayer":
        when.set_day(today - timedelta(days=2 if before == "de" else 1))
        return True
    if word in ("antier", "anteayer"):
        when.set_day(today - timedelta(days=2))
        return True
    if word in WEEKDAYS:
        if _at(words, i + 1) == "no" and any(w in WEEKDAYS for w in words[i + 2 :]):
            return True  # "el jueves no, el viernes": the day named after it
        if _at(words, i + 1) != "primero" and i + 1 not in when.claimed:
            # "el martes primero de diciembre": the day of the month decides.
            when.set_day(_weekday(words, i, today, when.past))
        return True
    if (
        word == "primero"
        and before in ("el", "dia", *WEEKDAYS)
        and _at(words, i + 1) in _AFTER_FIRST
    ):
        _calendar_day(words, NumberSpan(i, i + 1, Decimal(1), False, False), today, when)
        return True
    if "/" in word or (word.count("-") and word.replace("-", "").isdigit()):
        slash = _slash_date(word, today)
        if slash is not None:
            when.set_day(slash)
            when.claimed.add(i)
        return True
    return False


def _time_word(words: Sequence[str], i: int, today: date, when: When) -> bool:
    """Read ``words[i]`` if it names a time of day or a delay; whether it did.

    Tried after ``_day_word``: the first matching word kind wins, as one chain of cases.
    """
    word, before = words[i], _at(words, i - 1)
    if ":" in word:
        clock = _clock_token(word)
        if clock is not None:
            when.clock = when.clock or clock
            when.claimed.add(i)
        return True
    if word in ("tarde", "tardecita") and before in ("la", "esta"):
        when.clock = when.clock or _AFTERNOON
        if before == "esta":
            when.set_day(today)
        return True
    if word in ("noche", "nochecita") and before in ("la", "esta"):
        when.clock = when.clock or _EVENING
        if before == "esta":
            when.set_day(today)
        return True
    if word == "mediodia" or (word == "dia" and before == "medio"):
        when.clock = when.clock or _NOON
        return True
    if word == "mananita" and before == "la":
        when.clock = when.clock or _MORNING
        return True
    if word in ("temprano", "tempranito") and when.clock is None:
        when.clock = _MORNING
        return True
    if word in ("rato", "ratito") and before == "un":
        when.delay = when.delay or timedelta(minutes=60 if word == "rato" else 30)
        return True
    if word == "hora" and before == "media":
        when.delay = when.delay or timedelta(minutes=30)
        return True
    return False


def callback_time(when: When, today: date, now: datetime | None, tz: str) -> datetime | None:
    """The aware moment to call back, when the utterance names a time or a delay."""
    zone = ZoneInfo(tz)
    if when.delay is not None and now is not None:
        local_now = now.astimezone(zone) if now.tzinfo else now.replace(tzinfo=zone)
        return local_now + when.delay
    if when.clock is None:
        return None
    day = when.day or today
    moment = datetime.combine(day, when.clock, tzinfo=zone)
    if when.day is None and now is not None:
        local_now = now.astimezone(zone) if now.tzinfo else now.replace(tzinfo=zone)
        if moment <= local_now:
            moment += timedelta(days=1)
    return moment
