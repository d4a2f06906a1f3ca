"""Bring typed text and ASR output to one shape before any pattern sees it.

Debtors' words arrive either from a recognizer (lowercase, no punctuation, no
accents, numbers as words) or from a person typing ("¿Sí, le pago $350.000 el
5/12!"). Every pattern in this package is written once, against the recognizer's
shape: lowercase ASCII words, with written numbers kept whole ("1.200.000",
"5/12", "3:30") so the number grammar can read their separators.
"""

from __future__ import annotations

import re
import unicodedata

# A written number keeps its separators; "$" is kept as a money marker.
_TOKEN = re.compile(r"\$|\d+(?:[.,:/-]\d+)*|[a-z]+")


def fold(text: str) -> str:
    """Lowercase and drop accents, so "Mañana" and the recognizer's "manana" meet.

    "ñ" folds to "n" too: recognizers and keyboards without it write "manana",
    and no word in this domain changes meaning by losing it.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokens(text: str) -> list[str]:
    """Words and written numbers of an utterance, punctuation dropped."""
    return _TOKEN.findall(fold(text))
