"""Spanish (es-419) wording of amounts, dates and times for what the bot says.

Pure functions: the same inputs always render the same words, so the TTS cache
can key on the text.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal

from num2words import num2words

WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
MONTHS = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
)

# (singular, plural, cents word) per ISO currency, as a debtor in that country says it.
CURRENCY_WORDS: dict[str, tuple[str, str, str]] = {
    "COP": ("peso", "pesos", "centavos"),
    "MXN": ("peso", "pesos", "centavos"),
    "CLP": ("peso", "pesos", "centavos"),
    "ARS": ("peso", "pesos", "centavos"),
    "UYU": ("peso", "pesos", "centésimos"),
    "DOP": ("peso", "pesos", "centavos"),
    "PEN": ("sol", "soles", "céntimos"),
    "USD": ("dólar", "dólares", "centavos"),
    "EUR": ("euro", "euros", "céntimos"),
    "GTQ": ("quetzal", "quetzales", "centavos"),
    "CRC": ("colón", "colones", "céntimos"),
    "BOB": ("boliviano", "bolivianos", "centavos"),
    "PYG": ("guaraní", "guaraníes", "céntimos"),
}

# Before a noun Spanish drops the final "o" of "uno": "veintiún mil pesos", "un peso".
_APOCOPE = re.compile(r"\b(veinti)?uno\b(?= (mil|millón|millones|peso|pesos|\w+))")


def number_words(value: int) -> str:
    """A whole number in words, e.g. 1500000 → "un millón quinientos mil"."""
    return str(num2words(value, lang="es"))


def _before_noun(words: str) -> str:
    # The sentinel noun lets a trailing "uno" see that a noun follows it.
    return _APOCOPE.sub(lambda m: "veintiún" if m.group(1) else "un", words + " x")[:-2]


def amount_words(amount: Decimal, currency: str) -> str:
    """Money as a person says it: "doscientos cincuenta mil pesos", "un millón de pesos"."""
    singular, plural, cents_word = CURRENCY_WORDS.get(currency.upper(), ("", currency, "centavos"))
    rounded = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    units = int(rounded)
    cents = int((rounded - units) * 100)
    words = _before_noun(number_words(units))
    noun = singular if units == 1 else plural
    # "un millón de pesos", "dos millones de pesos" but "un millón cien mil pesos".
    if units >= 1_000_000 and units % 1_000_000 == 0:
        words += " de"
    text = f"{words} {noun}".strip()
    if cents:
        text += f" con {_before_noun(number_words(cents))} {cents_word}"
    return text


def day_words(day: date, today: date) -> str:
    """A date relative to the call: "hoy", "mañana", "el viernes veintisiete de noviembre"."""
    delta = (day - today).days
    if delta == 0:
        return "hoy"
    if delta == 1:
        return "mañana"
    day_number = "primero" if day.day == 1 else number_words(day.day)
    text = f"el {WEEKDAYS[day.weekday()]} {day_number} de {MONTHS[day.month - 1]}"
    if day.year != today.year:
        text += f" de {number_words(day.year)}"
    return text


def time_words(moment: time) -> str:
    """A clock time as said in Latin America: "a las tres de la tarde", "a la una y media"."""
    hour, minute = moment.hour, moment.minute
    twelve = hour % 12 or 12
    part = "de la mañana" if hour < 12 else "de la tarde" if hour < 19 else "de la noche"
    if hour == 12 and minute == 0:
        return "al mediodía"
    article = "a la" if twelve == 1 else "a las"
    hour_text = "una" if twelve == 1 else number_words(twelve)
    if minute == 0:
        minutes = ""
    elif minute == 30:
        minutes = " y media"
    elif minute == 15:
        minutes = " y cuarto"
    else:
        minutes = f" y {number_words(minute)}"
    return f"{article} {hour_text}{minutes} {part}"


def moment_words(moment: datetime, today: date) -> str:
    """A callback time: "mañana a las tres de la tarde"."""
    return f"{day_words(moment.date(), today)} {time_words(moment.time())}"


def daypart_greeting(moment: datetime) -> str:
    """ "Buenos días" / "Buenas tardes" / "Buenas noches" for the debtor's local time."""
    if moment.hour < 12:
        return "Buenos días"
    if moment.hour < 19:
        return "Buenas tardes"
    return "Buenas noches"
