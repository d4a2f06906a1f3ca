"""An imported phone reads exactly as libphonenumber reads it, whichever path reads it.

The import reads the common shape of a number itself (portfolio_phones) and leaves the rest
to ``phonenumbers.parse``; over a large varied corpus — every region the product serves
and a few more, valid and invalid numbers of every type, national and international
forms, prefixes, separators and junk — both must give the same E.164, validity, type and
error message.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from functools import cache

import phonenumbers
import pytest
from phonenumbers import PhoneMetadata, PhoneNumberType

from voicebot.campaigns.portfolio_phones import normalize_phone, read_common

SERVED = ("CO", "CL", "MX", "PE", "US")  # jurisdictions.yaml
OTHERS = ("AR", "EC", "BR", "ES", "GB", "IT", "CA", "DE", "VE", "PA")
UNKNOWN_REGIONS = ("XX", "ZZ", "", "co")
TYPES = (
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.MOBILE,
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.VOIP,
    PhoneNumberType.PERSONAL_NUMBER,
    PhoneNumberType.UAN,
)
COUNTRY_CODES = ("57", "56", "52", "51", "1", "54", "44", "39", "800", "0", "999", "5", "")
JUNK = (
    "",
    "-",
    "()",
    "+",
    "1",
    "12",
    "1-2",
    "123",
    "12-3",
    "(1)2",
    "+1",
    "+12",
    "+123",
    "+0",
    "+00",
    "++573001234567",
    "+ 57 300 123 4567",
    "tel:+57-300-123-4567",
    "+57 300 123 4567;ext=12",
    "300 123 4567 ext. 12",
    "300 123 4567 x12",
    "300 123 4567#",
    "300-123-4567 #12#",
    "300 123 4567 / 301 765 4321",
    "300 123 4567, 12",
    "３００１２３４５６７",  # full-width digits
    "٣٠٠١٢٣٤٥٦٧",  # Arabic-Indic digits
    "1-800-FLOWERS",
    "CALL 300 123 4567",
    "3OO 123 4567",  # letters O
    "-3001234567",
    "3001234567-",
    ".3001234567",
    "(300)1234567)",
    "300..123..4567",
    "300 - 123 - 4567",
    "+(57) 300 123 4567",
    "+57(300)1234567",
    "0" * 20,
    "1" * 30,
    "9" * 251,
)


def library(text: str, region: str) -> tuple[str, str]:
    """What the import said before it had a path of its own: parse, type, E.164."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        return "error", f"not a phone number ({exc})"
    number_type = phonenumbers.number_type(number)
    assert (number_type != PhoneNumberType.UNKNOWN) == phonenumbers.is_valid_number(number)
    if number_type == PhoneNumberType.UNKNOWN:
        return "error", f"invalid phone number for region {region}"
    kind = {PhoneNumberType.MOBILE: "mobile", PhoneNumberType.FIXED_LINE: "landline"}
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164, kind.get(number_type, "unknown")


def imported(text: str, region: str) -> tuple[str, str]:
    try:
        phone = normalize_phone(text, region)
    except ValueError as exc:
        return "error", str(exc)
    return phone.e164, phone.kind


def _national_numbers(region: str, rng: random.Random) -> Iterator[str]:
    """Example numbers of every type, and numbers near them: same leading digits with the
    rest random, a digit more or less, and plain random digits."""
    examples = [phonenumbers.example_number_for_type(region, t) for t in TYPES]
    found = [str(n.national_number) for n in examples if n is not None] or ["3001234567"]
    for number in found:
        yield number
        for _ in range(12):
            keep = rng.randrange(1, len(number))
            length = len(number) + rng.choice((-2, -1, 0, 0, 0, 0, 1, 2))
            tail = "".join(rng.choice("0123456789") for _ in range(max(0, length - keep)))
            yield number[:keep] + tail
    for _ in range(15):
        yield "".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 20)))


def _written(national: str, region: str, rng: random.Random) -> Iterator[str]:
    """Ways a spreadsheet holds a number: national, with a prefix, international, grouped."""
    metadata = PhoneMetadata.metadata_for_region(region.upper(), None) if region else None
    own_code = str(metadata.country_code) if metadata is not None else "57"
    yield national
    for prefix in ("0", "01", "1", "00", "044", "045", "9", "15"):
        yield prefix + national
    if metadata is not None and metadata.national_prefix:
        yield metadata.national_prefix + national
    yield own_code + national
    yield "+" + own_code + national
    yield "00" + own_code + national
    yield "011" + own_code + national
    yield "+" + rng.choice(COUNTRY_CODES) + national
    yield rng.choice(COUNTRY_CODES) + national
    cut = sorted(rng.sample(range(1, max(2, len(national))), k=min(2, max(1, len(national) - 1))))
    groups = [
        national[: cut[0]],
        *(national[a:b] for a, b in zip(cut, [*cut[1:], None], strict=True)),
    ]
    for separator in (" ", "-", ".", "  ", " - "):
        yield separator.join(groups)
        yield "+" + own_code + " " + separator.join(groups)
    yield f"({groups[0]}) " + "-".join(groups[1:])
    yield f"+{own_code} ({groups[0]}) " + " ".join(groups[1:])
    yield national + rng.choice(("x", "#", " ext 1", "a", "/1", ";1", ",1", ")", "("))


@cache
def corpus() -> tuple[tuple[str, str], ...]:
    rng = random.Random(17)
    cases: list[tuple[str, str]] = []
    for region in (*SERVED, *OTHERS, *UNKNOWN_REGIONS):
        for national in _national_numbers(region.upper() if region else "CO", rng):
            cases.extend((text, region) for text in _written(national, region, rng))
        cases.extend((text, region) for text in JUNK)
    return tuple(dict.fromkeys(cases))


def test_every_number_imports_as_libphonenumber_reads_it() -> None:
    differing = [
        (text, region, imported(text, region), library(text, region))
        for text, region in corpus()
        if imported(text, region) != library(text, region)
    ]
    assert differing == []


def test_the_common_shape_gives_parses_number_and_type() -> None:
    read = 0
    for text, region in corpus():
        common = read_common(text, region)
        if common is None:
            continue
        read += 1
        number = phonenumbers.parse(text, region)
        assert common == (number, phonenumbers.number_type(number)), (text, region)
    assert read > len(corpus()) / 3  # the comparison is not vacuous


@pytest.mark.parametrize("region", SERVED)
def test_the_common_shape_is_read_without_parse_in_every_served_region(region: str) -> None:
    """Valid and invalid numbers alike, so both answers of the fast path are compared."""
    outcomes = {
        library(text, region)[0] == "error"
        for text, region_of in corpus()
        if region_of == region and read_common(text, region) is not None
    }
    assert outcomes == {True, False}


@pytest.mark.parametrize(
    ("text", "region", "e164", "kind"),
    [
        ("3001234567", "CO", "+573001234567", "mobile"),
        ("300 123 4567", "CO", "+573001234567", "mobile"),
        ("+57 (601) 234-5678", "CO", "+576012345678", "landline"),
        ("912345678", "PE", "+51912345678", "mobile"),
        # Chile's, Mexico's and the US's plans do not tell mobiles from landlines.
        ("2 2123 4567", "CL", "+56221234567", "unknown"),
        ("55 1234 5678", "MX", "+525512345678", "unknown"),
        ("(201) 555-0123", "US", "+12015550123", "unknown"),
    ],
)
def test_typical_numbers_take_the_common_path(text: str, region: str, e164: str, kind: str) -> None:
    assert read_common(text, region) is not None
    assert imported(text, region) == (e164, kind)
