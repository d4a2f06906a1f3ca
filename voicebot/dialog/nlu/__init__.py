"""Spanish understanding of debtors' answers: intent, amount, date, callback time.

One pure function, :func:`understand`, that the dialog machine calls on every
utterance. Text is normalized first (so ASR output and typed text meet the same
rules), numbers are read once, dates and times claim theirs, the rest can be
money, and the intent comes from ordered phrase patterns.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from voicebot.dialog.nlu.amounts import read_money
from voicebot.dialog.nlu.channels import read_channel
from voicebot.dialog.nlu.dates import callback_time, read_when
from voicebot.dialog.nlu.intents import classify
from voicebot.dialog.nlu.normalize import tokens
from voicebot.dialog.nlu.numbers import find_numbers
from voicebot.dialog.understanding import Intent, Understanding

__all__ = ["understand"]

_NOT_NOW = re.compile(r"\b(?:hoy|ahorita|ahoritita|ahora) no\b|\bno (?:puedo|podemos|estoy)\b")


def understand(
    text: str, *, today: date, now: datetime | None = None, tz: str = "America/Bogota"
) -> Understanding:
    """What a debtor said, relative to the call date `today` in the zone `tz`.

    `now` (the moment of the utterance) lets "en una hora" and "a las tres" become
    an exact callback time; without it, relative delays are left out and a clock
    time is taken as today's.
    """
    words = tokens(text)
    spans = find_numbers(words)
    when = read_when(words, spans, today)
    money = read_money(words, spans, when.claimed)
    callback_at = callback_time(when, today, now, tz)
    day = when.day
    if day is None and callback_at is not None and when.clock is not None:
        day = callback_at.date()
    intent, confidence = classify(
        " ".join(words),
        has_amount=money.amount is not None or money.share is not None,
        # "hoy juega la selección" names a day but answers nothing.
        has_date=day is not None and (not when.only_loose or len(words) <= 3),
        has_time=callback_at is not None or when.clock is not None,
    )
    if (
        intent is Intent.CALLBACK_REQUEST
        and when.only_loose
        and callback_at is None
        and _NOT_NOW.search(" ".join(words))
    ):
        # "ahorita no puedo hablar" says when not to call, not when to.
        day = None
    if intent is Intent.ALREADY_PAID and day is not None and day > today:
        # "ya pagué el sábado" is the Saturday gone by.
        day = read_when(words, spans, today, past=True).day
    if intent is Intent.UNKNOWN and money.full_balance:
        # A bare "todo" / "el total" answers "¿Qué valor puede pagar?".
        intent, confidence = Intent.PROMISE_TO_PAY, 0.6
    if intent is Intent.UNKNOWN and money.digits is not None:
        confidence = 0.6
    return Understanding(
        intent=intent,
        confidence=confidence,
        amount=money.amount,
        date=day,
        callback_at=callback_at,
        full_balance=money.full_balance,
        instalments=money.instalments,
        digits=money.digits,
        channel=read_channel(" ".join(words)),
        share=money.share,
        clock=when.clock,
    )
