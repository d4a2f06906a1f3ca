"""The US state a phone number's area code belongs to, for the all-party-consent notice.

A debtor's region may be missing or stale; the number's area code is a second
witness. The notice is given if either points to an all-party-consent state
(the conservative reading: the law of the place the debtor may be in applies).
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import geocoder

# phonenumbers describes US numbers as "City, ST" or as the state's name.
_STATES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA",
    "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA",
    "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD",
    "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS",
    "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV", "New Hampshire": "NH",
    "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY", "North Carolina": "NC",
    "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR", "Pennsylvania": "PA",
    "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD", "Tennessee": "TN",
    "Texas": "TX", "Utah": "UT", "Vermont": "VT", "Virginia": "VA", "Washington State": "WA",
    "Washington": "WA", "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY",
    "Washington D.C.": "DC",
}  # fmt: skip


def us_region_of_phone(e164: str) -> str | None:
    """``US-CA`` for a Californian area code; None for non-US, toll-free or unknown numbers."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.region_code_for_number(number) != "US":
        return None
    where = geocoder.description_for_number(number, "en").strip()
    if not where:
        return None
    _, comma, tail = where.rpartition(",")
    state = tail.strip() if comma else _STATES.get(where)
    return f"US-{state}" if state and len(state) == 2 else None
