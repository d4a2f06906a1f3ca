"""Fill a prompt template with the call's facts, worded in Spanish.

Templates live in ``prompts/<lang>/*.yaml`` (shipped: ``voicebot/data/prompts``) and name
variables such as ``{debt.amount}``; the dialplan validator has already rejected unknown ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from voicebot.dialog.plan import VARIABLE_PATTERN, Prompt
from voicebot.domain.context import CallContext
from voicebot.language.spanish import (
    amount_words,
    day_words,
    daypart_greeting,
    moment_words,
    number_words,
)


def render_prompt(prompt: Prompt, ctx: CallContext, slots: Mapping[str, Any], at: datetime) -> str:
    """The prompt's text with every variable replaced by its Spanish wording."""
    if not prompt.variables:
        return prompt.text
    values = _values(set(prompt.variables), ctx, slots, at)
    return VARIABLE_PATTERN.sub(lambda m: values[m.group(1)], prompt.text)


def _values(
    wanted: set[str], ctx: CallContext, slots: Mapping[str, Any], at: datetime
) -> dict[str, str]:
    debtor = ctx.debtor
    currency = debtor.currency
    local = at.astimezone(ZoneInfo(debtor.timezone))
    first_debt = debtor.debts[0] if debtor.debts else None

    def money(value: Any) -> str:
        return amount_words(Decimal(value), currency) if value is not None else ""

    def day(value: Any) -> str:
        return day_words(value, ctx.today) if isinstance(value, date) else ""

    digits = int(ctx.settings.get("document_digits", 4))
    pending = ctx.pending_promise
    producers: dict[str, Any] = {
        "greeting": lambda: daypart_greeting(local),
        "company": lambda: ctx.company,
        "callback_number": lambda: _spell_phone(ctx.callback_number),
        "debtor.full_name": lambda: debtor.full_name,
        "debtor.first_name": lambda: debtor.first_name,
        "debtor.treatment": lambda: {"f": "señora", "m": "señor"}.get(debtor.gender, ""),
        "document_digits": lambda: number_words(digits),
        "promise.amount": lambda: money(slots.get("promise_amount")),
        "promise.date": lambda: day(slots.get("promise_date")),
        "promise.instalments": lambda: number_words(int(slots.get("promise_instalments", 1))),
        "callback.when": lambda: _callback_words(slots, ctx),
        "callback.day": lambda: day(slots.get("callback_date")),
        "offer.instalments": lambda: number_words(int(slots.get("offer_instalments", 1))),
        "offer.instalment_amount": lambda: money(slots.get("offer_instalment_amount")),
        "limits.min_payment": lambda: money(ctx.limits.min_payment),
        "limits.latest_date": lambda: day(ctx.today + timedelta(days=ctx.limits.max_days_ahead)),
        "creditor": lambda: first_debt.creditor if first_debt else "",
        "debt.amount": lambda: money(debtor.total_due),
        "debt.days_past_due": lambda: (
            number_words(max(d.days_past_due for d in debtor.debts)) if debtor.debts else "cero"
        ),
        "pending.amount": lambda: money(pending.amount if pending else None),
        "pending.date": lambda: day(pending.due if pending else None),
        "pending.instalments": lambda: number_words(pending.instalments if pending else 1),
        "pending.callback": lambda: _pending_callback_words(ctx),
        "debt.product": lambda: (
            first_debt.product if first_debt and first_debt.product else "obligación"
        ),
    }
    return {name: str(producers[name]()) for name in wanted}


def _callback_words(slots: Mapping[str, Any], ctx: CallContext) -> str:
    when = slots.get("callback_scheduled", slots.get("callback_at"))
    if isinstance(when, datetime):
        return moment_words(when.astimezone(ZoneInfo(ctx.debtor.timezone)), ctx.today)
    day = slots.get("callback_date")
    if isinstance(day, date):
        return day_words(day, ctx.today)
    return "pronto"


def _pending_callback_words(ctx: CallContext) -> str:
    when = ctx.pending_callback
    if when is None:
        return "pronto"
    return moment_words(when.astimezone(ZoneInfo(ctx.debtor.timezone)), ctx.today)


def _spell_phone(number: str) -> str:
    """Digits read one by one, grouped as people read phone numbers aloud."""
    digits = [ch for ch in number if ch.isdigit()]
    if not digits:
        return ""
    words = [number_words(int(d)) for d in digits]
    groups = [" ".join(words[i : i + 3]) for i in range(0, len(words), 3)]
    return ", ".join(groups)
