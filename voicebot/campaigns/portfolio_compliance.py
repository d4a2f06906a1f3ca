"""The portfolio cells compliance needs: line type, the debtor's state, authorized channels.

Each is optional; what a file does not say is kept from an earlier import, never erased.
"""

from __future__ import annotations

import re

from voicebot.campaigns.compliance import CHANNELS
from voicebot.domain.phone_places import US_STATES

# The columns, added to the portfolio's accepted headers.
COMPLIANCE_COLUMNS: dict[str, tuple[str, ...]] = {
    # The state/región (MA, WA, RM, AP): state laws and regional holidays.
    "subdivision": ("subdivision", "state", "estado", "provincia", "departamento", "region_cl"),
    # mobile | landline for every phone of the row: libphonenumber cannot tell them apart in
    # the US and Canada, and the TCPA treats the two differently.
    "line_type": ("line_type", "tipo_linea", "tipo_telefono", "phone_type"),
    # Channels the debtor authorized (Ley 2300 art. 2): "voz, sms"; empty: not recorded.
    "authorized_channels": ("authorized_channels", "canales_autorizados", "canales"),
}

LINE_TYPES = {
    "mobile": "mobile",
    "movil": "mobile",
    "móvil": "mobile",
    "celular": "mobile",
    "cell": "mobile",
    "wireless": "mobile",
    "landline": "landline",
    "fijo": "landline",
    "fixed": "landline",
    "residencial": "landline",
    "residential": "landline",
}
CHANNEL_NAMES = {
    **{c: c for c in CHANNELS},
    "voz": "voice",
    "llamada": "voice",
    "llamadas": "voice",
    "telefono": "voice",
    "teléfono": "voice",
    "mensaje": "sms",
    "mensajes": "sms",
    "correo": "email",
    "e-mail": "email",
    "agente": "agent",
    "visita": "visit",
    "visitas": "visit",
}
NO_CHANNEL = {"ninguno", "none", "ninguna"}


def parse_subdivision(text: str, country: str) -> str:
    """``MA``, ``US-MA``, ``Massachusetts`` → ``MA``; raises ``ValueError`` otherwise."""
    cleaned = text.strip()
    if cleaned in US_STATES and country in ("US", ""):
        return US_STATES[cleaned]
    code = cleaned.upper()
    if code.startswith(f"{country}-"):
        code = code[len(country) + 1 :]
    if not re.fullmatch(r"[A-Z0-9]{1,3}", code):
        raise ValueError(f"not a subdivision code (ISO 3166-2, e.g. MA, RM): {text!r}")
    return code


def parse_channels(text: str) -> tuple[str, ...]:
    """``"voz, sms"`` → ``("voice", "sms")``; ``ninguno`` → (); raises on an unknown channel."""
    names = [n.strip().lower() for n in re.split(r"[,;/|+ ]+", text) if n.strip()]
    if len(names) == 1 and names[0] in NO_CHANNEL:
        return ()
    unknown = [n for n in names if n not in CHANNEL_NAMES]
    if unknown:
        raise ValueError(f"unknown channel {unknown[0]!r} (use {', '.join(CHANNELS)})")
    return tuple(dict.fromkeys(CHANNEL_NAMES[n] for n in names))
