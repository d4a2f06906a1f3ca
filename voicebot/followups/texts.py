"""The texts of messages to debtors: read from ``prompts/<lang>/``, checked, filled in.

The templates use the voice prompts' ``{variable}`` syntax and names, so one vocabulary
covers what the bot says and what it writes; the values are written forms ("$150.000 COP",
"lunes 30 de noviembre") because a text is read, not heard. A file is refused when a
message lacks the company's name or the opt-out instruction: the law asks for both in
every message, so it is checked where the texts are loaded, not hoped for where they are sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

from voicebot.data import MESSAGE_TEXTS
from voicebot.dialog.plan import VARIABLE_PATTERN
from voicebot.dialog.prompt_file import COLLECTION_WORDS
from voicebot.dialog.yaml_loading import load_yaml
from voicebot.language.spanish import MONTHS, WEEKDAYS

# Variable → whether it reveals the debt (then the message goes only to a verified debtor).
MESSAGE_VARIABLES: dict[str, bool] = {
    "company": False,
    "callback_number": False,
    "debtor.first_name": False,
    "debtor.full_name": False,
    "opt_out": False,
    "promise.amount": True,
    "promise.date": True,
    "payment_link": True,
    "creditor": True,
    "debt.amount": True,
}
OPT_OUT_KEY = "opt_out"
REPLIES = ("opt_out_confirmed",)  # answers to the debtor's own text: no opt-out line needed
REQUIRED_KINDS = (
    "payment_link",
    "reminder",
    "reminder_no_link",
    "broken_promise",
    "contact_request",
)
EN_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class TextsError(ValueError):
    """A message file that cannot be used; names the file and the message."""


@dataclass(frozen=True, slots=True)
class MessageText:
    kind: str
    template: str
    variables: tuple[str, ...]
    discloses: bool  # names the debt: only for a verified debtor


@dataclass(frozen=True, slots=True)
class MessageTexts:
    language: str
    texts: Mapping[str, MessageText]

    def get(self, kind: str) -> MessageText:
        if kind not in self.texts:
            raise TextsError(f"no message {kind!r} in the {self.language} texts")
        return self.texts[kind]


def parse_texts(text: str, source: str, language: str) -> MessageTexts:
    data = load_yaml(text)
    if not isinstance(data, dict) or not isinstance(data.get(OPT_OUT_KEY), str):
        raise TextsError(f"{source}: a mapping kind → text with an {OPT_OUT_KEY!r} line")
    opt_out = str(data[OPT_OUT_KEY]).strip()
    texts: dict[str, MessageText] = {}
    for key, value in data.items():
        kind = str(key)
        if kind == OPT_OUT_KEY:
            continue
        if not isinstance(value, str) or not value.strip():
            raise TextsError(f"{source}: message {kind!r} has no text")
        variables = tuple(VARIABLE_PATTERN.findall(value))
        unknown = sorted(set(variables) - set(MESSAGE_VARIABLES))
        if unknown:
            raise TextsError(
                f"{source}: message {kind!r} uses unknown variables {unknown} "
                f"(known: {', '.join(sorted(MESSAGE_VARIABLES))})"
            )
        if "company" not in variables:
            raise TextsError(f"{source}: message {kind!r} must name {{company}}")
        if kind not in REPLIES and OPT_OUT_KEY not in variables:
            raise TextsError(f"{source}: message {kind!r} must carry {{{OPT_OUT_KEY}}}")
        discloses = any(MESSAGE_VARIABLES[v] for v in variables) or bool(
            COLLECTION_WORDS.search(value.replace(f"{{{OPT_OUT_KEY}}}", ""))
        )
        texts[kind] = MessageText(
            kind, value.strip().replace("{opt_out}", opt_out), variables, discloses
        )
    missing = [kind for kind in REQUIRED_KINDS if kind not in texts]
    if missing:
        raise TextsError(f"{source}: missing messages {missing}")
    if texts["contact_request"].discloses:
        raise TextsError(f"{source}: 'contact_request' goes to anyone: it must not name the debt")
    return MessageTexts(language, texts)


@cache
def load_texts(language: str = "es", path: Path | None = None) -> MessageTexts:
    source = path or MESSAGE_TEXTS.get(language)
    if source is None:
        raise TextsError(f"no message texts for language {language!r}")
    return parse_texts(source.read_text(encoding="utf-8"), str(source), language)


def written_amount(amount: Decimal, currency: str, language: str) -> str:
    """$150.000 COP (es: dot thousands, comma decimals) or $150,000 COP (en)."""
    cents = amount.quantize(Decimal("0.01")) != amount.quantize(Decimal(1))
    text = f"{amount:,.2f}" if cents else f"{amount:,.0f}"
    if language == "es":
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    return f"${text} {currency}"


def written_date(day: date, language: str) -> str:
    if language == "es":
        return f"{WEEKDAYS[day.weekday()]} {day.day} de {MONTHS[day.month - 1]}"
    return f"{EN_WEEKDAYS[day.weekday()]}, {day:%B} {day.day}"


def render(text: MessageText, values: Mapping[str, str]) -> str:
    """The message with its variables filled; a missing value is an error, never a blank."""
    missing = [v for v in text.variables if v != OPT_OUT_KEY and not values.get(v)]
    if missing:
        raise TextsError(f"message {text.kind!r} needs values for {missing}")
    return VARIABLE_PATTERN.sub(lambda m: values[m.group(1)], text.template)
