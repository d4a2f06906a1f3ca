"""Which of the numbers are money, which are instalments, which are an ID read out.

Dates and times claim their numbers first; what remains is money when it is
marked as money ("mil", "lucas", "pesos", "$") or is at least 100 ("le pago
quinientos"). Small bare numbers ("tengo dos hijos") are not money. A bare
digit string is an ID ("mi cédula es 1234567") unless the debtor is talking
about paying.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal

from voicebot.dialog.nlu.numbers import CURRENCY, INSTALMENT_WORDS, NumberSpan, spoken_digits

_FULL_BALANCE = re.compile(
    r"\b(saldo|deuda|monto|valor|pago|total) (completo|completa|total)\b"
    r"|\b(todo|toda) (lo que (le )?debo|lo que (se )?debe|el saldo|la deuda|el monto|el valor"
    r"|el total|junto|completo|de una( vez)?|de contado)\b"
    r"|\b(el|la) total(idad)?\b|\btodito\b|\bde contado\b"
    r"|\b(pago|pagar|pagaria|pagare|cancelo|cancelar|liquido|liquidar|saldo|saldar) (todo|toda)\b"
    r"|\bla deuda completa\b|\bpago total\b"
    # A bare "todo" answers "¿Qué valor puede pagar?"; "todo completo", "mejor pago todo".
    r"|^(?:(?:no|si|bueno|ok|listo|entonces|mejor|pues|ya) )*(?:todo|toda)(?: completo| completa"
    r"| entero)?$"
)
# A share of the balance: "la mitad", "un tercio" (the machine knows the balance).
_SHARES = (
    (re.compile(r"\b(?:la|una) mitad\b|\bel cincuenta por ciento\b"), Decimal("0.5")),
    (re.compile(r"\bun tercio\b|\bla tercera parte\b"), Decimal(1) / 3),
    (re.compile(r"\bun cuarto\b|\bla cuarta parte\b"), Decimal("0.25")),
)
_ID_WORDS = re.compile(
    r"\b(cedula|documento|dni|rut|curp|identificacion|codigo|referencia|contrato|pin|clave"
    r"|digitos|carnet|pasaporte|folio|tarjeta|numero)\b"
)
_PAY_WORDS = re.compile(
    r"\b(pag\w*|consign\w*|deposit\w*|transfier\w*|transferi\w*|abon\w*|cancel\w*|gir\w*"
    r"|debo|plata|dinero|pesos|dolares|soles)\b"
)


_NOT_MONEY_AFTER_MIL = frozenset({"gracias", "disculpas", "perdones", "veces", "cosas"})


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal | None = None
    full_balance: bool = False
    instalments: int | None = None
    digits: str | None = None
    share: Decimal | None = None  # a share of the balance ("la mitad" = 0.5)


def _at(words: Sequence[str], i: int) -> str:
    return words[i] if 0 <= i < len(words) else ""


def _whole(value: Decimal) -> Decimal:
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def read_money(
    words: Sequence[str], spans: Sequence[NumberSpan], claimed: Collection[int]
) -> Money:
    """Amount, full balance, instalments and digits among the unclaimed numbers."""
    text = " ".join(words)
    amount: Decimal | None = None
    instalments: int | None = None
    digits: str | None = None
    read_out = spoken_digits(words)
    taken: set[int] = set()
    if read_out is not None and not any(i in claimed for i in range(read_out[1], read_out[2])):
        digits = read_out[0]
        taken = set(range(read_out[1], read_out[2]))
    for span in spans:
        if span.start in claimed or span.start in taken:
            continue
        before, after = _at(words, span.start - 1), _at(words, span.end)
        if after == "de" and _at(words, span.end + 1) in CURRENCY:
            after = _at(words, span.end + 1)  # "un millón de pesos"
        divided = before == "en" and _at(words, span.start - 2).startswith(("divid", "part"))
        if after in INSTALMENT_WORDS or (after == "meses" and before == "a") or divided:
            if not span.scaled and 1 < span.value <= 72 and instalments is None:
                instalments = int(span.value)
            continue
        if before in ("de", "del", "ano") and span.written and 1900 <= span.value <= 2100:
            continue  # a year
        if words[span.start : span.end] == ["mil"] and after in _NOT_MONEY_AFTER_MIL:
            continue  # "mil gracias"
        marked = span.scaled or before == "$" or after in CURRENCY
        if not marked and span.written and words[span.start].isdigit():
            bare_id = _ID_WORDS.search(text) or not _PAY_WORDS.search(text)
            if bare_id and len(words[span.start]) >= 3:
                digits = digits or words[span.start]
                continue
        if (marked or span.value >= 100) and amount is None:
            amount = _whole(span.value)
    share = next((value for pattern, value in _SHARES if pattern.search(text)), None)
    if share is not None and amount is None and not _FULL_BALANCE.search(text):
        return Money(None, False, instalments, digits, share)
    return Money(amount, bool(_FULL_BALANCE.search(text)), instalments, digits)
