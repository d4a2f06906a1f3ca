"""The US state a phone number's area code belongs to, for the all-party-consent notice.

A debtor's region may be missing or stale; the number's area code is a second
witness. The notice is given if either points to an all-party-consent state
(the conservative reading: the law of the place the debtor may be in applies).
"""

from __future__ import annotations

import phonenumbers

from voicebot.domain.phone_places import phone_subdivision


def us_region_of_phone(e164: str) -> str | None:
    """``US-CA`` for a Californian area code; None for non-US, toll-free or unknown numbers."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.region_code_for_number(number) != "US":
        return None
    state = phone_subdivision(e164)
    return f"US-{state}" if state else None
