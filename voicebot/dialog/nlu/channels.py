"""How a debtor says a payment was made: the channel a payment claim is checked against.

The collector's back office matches a "ya pagué" against bank files per channel,
so the channel is named canonically ("transferencia", "sucursal", ...) whatever
the debtor's wording ("le transferí", "por la app", "en un Efecty").
"""

from __future__ import annotations

import re

# Canonical channel → the words that name it (normalised text: no accents, lowercase).
# Ordered from the most specific: "transferencia por la app del banco" is a transfer.
_CHANNELS: tuple[tuple[str, str], ...] = (
    ("pse", r"pse"),
    ("nequi", r"nequi"),
    ("daviplata", r"daviplata"),
    ("zelle", r"zelle"),
    ("corresponsal", r"corresponsal\w*|efecty|baloto|su red|oxxo|pago ?facil|rapipago|servipag"),
    ("transferencia", r"transfer\w*|transferi\w*|wire|spei|yape|plin"),
    ("consignacion", r"consign\w*|deposit\w*"),
    (
        "app",
        r"app|aplicacion|(?:la )?pagina(?: web)?|internet|en linea|online|banca (?:movil|virtual)",
    ),
    ("efectivo", r"efectivo|cash"),
    ("sucursal", r"sucursal|oficina|ventanilla|caja"),
    ("tarjeta", r"tarjeta|debito automatico"),
    ("banco", r"banco"),
)
_PATTERNS = tuple((name, re.compile(rf"\b(?:{words})\b")) for name, words in _CHANNELS)


def read_channel(text: str) -> str | None:
    """The payment channel named in normalised text, or None."""
    for name, pattern in _PATTERNS:
        if pattern.search(text):
            return name
    return None
