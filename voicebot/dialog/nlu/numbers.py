"""Numbers as debtors say or write them, and the money, instalments and IDs among them.

The grammar is collections Spanish, not textbook Spanish: "doscientas lucas"
(200 000, Chile/Colombia), "medio palo" (500 000), "un palo y medio", "millón
doscientos" (1 200 000: the thousands are implied after a million), "50 mil",
"$350.000" and "1,200,000" (both thousand separators are in use in Latin
America). Every number becomes a span over the token list, so dates and times can
claim theirs first ("el quince", "a las tres") and only what is left is money.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

UNITS = {
    "un": 1,
    "uno": 1,
    "una": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
}
TEENS = {
    "once": 11,
    "doce": 12,
    "trece": 13,
    "catorce": 14,
    "quince": 15,
    "dieciseis": 16,
    "diecisiete": 17,
    "dieciocho": 18,
    "diecinueve": 19,
    "veintiun": 21,
    "veintiuno": 21,
    "veintiuna": 21,
    "veintidos": 22,
    "veintitres": 23,
    "veinticuatro": 24,
    "veinticinco": 25,
    "veintiseis": 26,
    "veintisiete": 27,
    "veintiocho": 28,
    "veintinueve": 29,
}
# Tens may take "y <unit>": "treinta y cinco", and the spoken "diez y seis", "veinte y dos".
TENS = {
    "diez": 10,
    "veinte": 20,
    "treinta": 30,
    "cuarenta": 40,
    "cincuenta": 50,
    "sesenta": 60,
    "setenta": 70,
    "ochenta": 80,
    "noventa": 90,
}
HUNDREDS = {
    "cien": 100,
    "ciento": 100,
    "doscientos": 200,
    "doscientas": 200,
    "trescientos": 300,
    "trescientas": 300,
    "cuatrocientos": 400,
    "cuatrocientas": 400,
    "quinientos": 500,
    "quinientas": 500,
    "seiscientos": 600,
    "seiscientas": 600,
    "setecientos": 700,
    "setecientas": 700,
    "ochocientos": 800,
    "ochocientas": 800,
    "novecientos": 900,
    "novecientas": 900,
}
# "luca(s)" (Chile, Colombia) and "k" mean thousand; "palo(s)" (Colombia, Chile) and
# "melón/melones" (Mexico) mean million.
THOUSANDS = frozenset({"mil", "luca", "lucas", "luka", "lukas", "k"})
MILLIONS = frozenset({"millon", "millones", "palo", "palos", "melon", "melones"})
HALF = frozenset({"medio", "media"})
DIGIT_WORDS = {
    "cero": "0",
    "uno": "1",
    "dos": "2",
    "tres": "3",
    "cuatro": "4",
    "cinco": "5",
    "seis": "6",
    "siete": "7",
    "ocho": "8",
    "nueve": "9",
}
CURRENCY = frozenset(
    {
        "peso",
        "pesos",
        "pesitos",
        "dolar",
        "dolares",
        "sol",
        "soles",
        "bolivares",
        "quetzales",
        "colones",
        "euros",
        "varos",
        "bolas",
        "mil",
        "lucas",
        "luca",
    }
)
INSTALMENT_WORDS = frozenset(
    {"cuotas", "cuota", "pagos", "partes", "mensualidades", "abonos", "plazos", "quincenas"}
)
# Written numbers: "1.200.000" and "1,200,000" group thousands; "1.5" or "350,50" are decimals.
_GROUPED = re.compile(r"\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*")
_GROUPED_CENTS = re.compile(r"\d{1,3}(?:\.\d{3})+,\d{1,2}|\d{1,3}(?:,\d{3})+\.\d{1,2}")
_DECIMAL = re.compile(r"\d+[.,]\d+")


@dataclass(frozen=True, slots=True)
class NumberSpan:
    """A number found in the tokens [start, end)."""

    start: int
    end: int
    value: Decimal
    scaled: bool  # carried a multiplier: mil, millón, lucas, palo, k
    written: bool  # came from digits, not words


def written_value(token: str) -> Decimal | None:
    """The value of a written number token, or None for dates, times and words."""
    if token.isdigit():
        return Decimal(token)
    if _GROUPED.fullmatch(token):
        return Decimal(re.sub(r"[.,]", "", token))
    if _GROUPED_CENTS.fullmatch(token):
        separator = token[-3] if token[-3] in ".," else token[-2]
        whole, cents = token.rsplit(separator, 1)
        return Decimal(re.sub(r"[.,]", "", whole) + "." + cents)
    if _DECIMAL.fullmatch(token):
        return Decimal(token.replace(",", "."))
    return None


def _at(words: Sequence[str], i: int) -> str:
    return words[i] if 0 <= i < len(words) else ""


def _group(words: Sequence[str], i: int) -> tuple[Decimal, int, bool] | None:
    """A number below a thousand starting at i: (value, end, written)."""
    written = written_value(_at(words, i))
    if written is not None:
        return written, i + 1, True
    value, j = 0, i
    if _at(words, j) in HUNDREDS:
        value += HUNDREDS[_at(words, j)]
        j += 1
    elif _at(words, j) in UNITS and _at(words, j + 1) in ("cientos", "cientas"):
        value += UNITS[_at(words, j)] * 100  # a recognizer's "tres cientos"
        j += 2
    word = _at(words, j)
    if word in TENS:
        value += TENS[word]
        j += 1
        if _at(words, j) == "y" and _at(words, j + 1) in UNITS:
            value += UNITS[_at(words, j + 1)]
            j += 2
    elif word in TEENS:
        value += TEENS[word]
        j += 1
    elif word in UNITS:
        value += UNITS[word]
        j += 1
    return (Decimal(value), j, False) if j > i else None


def _number_at(words: Sequence[str], i: int) -> NumberSpan | None:
    total = Decimal(0)
    current: Decimal | None = None
    last_scale: int | None = None
    written = False
    j = i
    if _at(words, j) in HALF and _at(words, j + 1) in THOUSANDS | MILLIONS:
        last_scale = 1_000_000 if _at(words, j + 1) in MILLIONS else 1000
        total = Decimal(last_scale) / 2
        j += 2
    while j < len(words):
        if current is None:
            group = _group(words, j)
            if group is not None:
                current, j, was_written = group
                written = written or was_written
                continue
        word = words[j]
        scale = 1_000_000 if word in MILLIONS else 1000 if word in THOUSANDS else None
        if scale is None or (last_scale is not None and last_scale <= scale):
            break
        if current is None and last_scale is None and word in ("palo", "palos", "k"):
            break  # "un palo" needs its number; a bare "palo" is a stick
        total += (current if current is not None else Decimal(1)) * scale
        current, last_scale = None, scale
        j += 1
        if _at(words, j) == "y" and _at(words, j + 1) in HALF:
            total += Decimal(scale) / 2
            j += 2
    if current is None and last_scale is None:
        return None
    if current is not None:
        # "un millón doscientos" is 1 200 000: after millions, the thousands are implied.
        total += current * 1000 if last_scale == 1_000_000 and current < 1000 else current
    return NumberSpan(i, j, total, last_scale is not None, written)


def find_numbers(words: Sequence[str]) -> list[NumberSpan]:
    """Every number in the tokens, longest first from the left, none overlapping."""
    spans: list[NumberSpan] = []
    i = 0
    while i < len(words):
        span = _number_at(words, i)
        if span is None:
            i += 1
            continue
        spans.append(span)
        i = span.end
    return spans


def spoken_digits(words: Sequence[str]) -> tuple[str, int, int] | None:
    """A run of three or more digit words ("uno dos tres cuatro"), as an ID is read out."""
    run: list[int] = []
    for i, word in enumerate([*words, ""]):
        if word in DIGIT_WORDS:
            run.append(i)
            continue
        if len(run) >= 3:
            return "".join(DIGIT_WORDS[words[k]] for k in run), run[0], run[-1] + 1
        run = []
    return None
