"""Console wording from the message files (es-419 by default, English), never from Python."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from pathlib import Path

import yaml

from api.console.session import DEFAULT_LANGUAGE, LANGUAGES

MESSAGES = Path(__file__).parent / "messages"


@cache
def catalog(language: str) -> dict[str, str]:
    lang = language if language in LANGUAGES else DEFAULT_LANGUAGE
    data = yaml.safe_load((MESSAGES / f"{lang}.yaml").read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in data.items()}


def translate(language: str, key: str, **values: object) -> str:
    """The message, or its key when missing (visible in review, never a crash)."""
    text = catalog(language).get(key, key)
    return text.format(**values) if values else text


# Thousands and decimal separators per console language (es-419 as in Colombia, Chile,
# Peru: 1.200.000,00; Mexico writes 1,200,000.00 but reads the other form without doubt).
SEPARATORS = {"es-419": (".", ","), "en": (",", ".")}


def money(language: str, amount: Decimal | float | int) -> str:
    """An amount with two decimals in the language's separators."""
    group, point = SEPARATORS.get(language, SEPARATORS[DEFAULT_LANGUAGE])
    text = f"{Decimal(str(amount)):,.2f}"
    return text.replace(",", "\0").replace(".", point).replace("\0", group)
