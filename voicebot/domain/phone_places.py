"""Where a North American phone number's area code is: the state or province it belongs to.

Two rules need it: US calling rules that vary by state (compliance) and the all-party-consent
recording notice (recording). Both read the same area-code table, so it lives here, below both.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import geocoder

# phonenumbers describes US numbers as "City, ST" or as the state's name.
US_STATES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA",
    "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA",
    "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD",
    "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS",
    "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV", "New Hampshire": "NH",
    "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY", "North Carolina": "NC",
    "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR", "Pennsylvania": "PA",
    "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD", "Tennessee": "TN",
    "Texas": "TX", "Utah": "UT", "Vermont": "VT", "Virginia": "VA", "Washington": "WA",
    "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY", "Washington D.C.": "DC",
    "Puerto Rico": "PR",
}  # fmt: skip


def phone_subdivision(e164: str) -> str | None:
    """The US state (or Canadian province) its area code belongs to, e.g. ``MA`` for +1 617;
    None for numbers outside +1 and for toll-free or unknown area codes."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 1:
        return None
    place = geocoder.description_for_number(number, "en").strip()
    if len(place) > 4 and place[-4:-2] == ", " and place[-2:].isupper():
        return place[-2:]  # "San Francisco, CA"
    return US_STATES.get(place.removesuffix(" State"))  # "Massachusetts", "Washington State"
