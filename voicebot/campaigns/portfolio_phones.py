"""A portfolio row's phone number: its E.164 form and line type, exactly as libphonenumber says.

Phone validation was about 60 % of a large import's CPU, most of it inside
``phonenumbers.parse`` handling what a spreadsheet rarely holds (letters, extensions,
RFC 3966 URIs, non-ASCII digits) and re-normalizing digits one character at a time. The
common shape — ASCII digits, maybe one leading ``+``, maybe spaces, dashes, dots or
parentheses between them — is read here directly, with the library's own metadata and by
the same rules ``parse`` applies to that shape. Whenever those rules would do something
special (an international or national prefix, the region's country code written without
``+``, a leading zero, too few or too many digits, an unknown country code) the number
goes through ``phonenumbers.parse`` instead, so the answers and error messages stay the
library's. ``tests/campaigns/test_portfolio_phones.py`` compares the two paths over a large
varied corpus for every region the product serves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumber, PhoneNumberType
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE, SUPPORTED_REGIONS


@dataclass(frozen=True, slots=True)
class PhoneRow:
    e164: str
    kind: str


_KINDS = {PhoneNumberType.MOBILE: "mobile", PhoneNumberType.FIXED_LINE: "landline"}


# A debtor's several debts repeat their phones on adjacent rows: read each number once.
@lru_cache(maxsize=4096)
def normalize_phone(text: str, region: str) -> PhoneRow:
    """``text`` read as a number of ``region``; ValueError if it is not a valid one."""
    fast = _read_simple(text, region)
    if fast is None:
        number = _parse(text, region)
        number_type = phonenumbers.number_type(number)
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    else:
        country_code, national = fast
        number_type = _number_type(country_code, national)
        e164 = f"+{country_code}{national}"
    # The type is UNKNOWN exactly when is_valid_number() is false.
    if number_type == PhoneNumberType.UNKNOWN:
        raise ValueError(f"invalid phone number for region {region}")
    return PhoneRow(e164, _KINDS.get(number_type, "unknown"))


def _parse(text: str, region: str) -> PhoneNumber:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number ({exc})") from exc


def read_common(text: str, region: str) -> tuple[PhoneNumber, int] | None:
    """What ``phonenumbers.parse(text, region)`` returns and the ``number_type`` of it,
    when ``text`` has the common shape this module reads itself; None for anything
    ``parse`` must judge (it then also gives the error, if any)."""
    fast = _read_simple(text, region)
    if fast is None:
        return None
    country_code, national = fast
    number = PhoneNumber(country_code=country_code, national_number=int(national))
    return number, _number_type(country_code, national)


# At least three digits (two could be refused as "not a phone number"), ASCII only: \d
# would let through digits of other scripts, which parse() converts.
_SIMPLE = re.compile(r"(\+?)\(?[0-9][0-9 ().\-]*[0-9)]")
_SEPARATORS = str.maketrans("", "", " ().-")
_MAX_INPUT = 250  # parse() refuses longer input
_MIN_DIGITS = 3
_MAX_NATIONAL = 17  # parse() refuses longer national numbers
_MAX_COUNTRY_CODE = 3


@dataclass(frozen=True, slots=True)
class _Desc:
    """A PhoneNumberDesc as number type checks use it: lengths, then the whole pattern."""

    lengths: frozenset[int]
    pattern: re.Pattern[str] | None

    @classmethod
    def of(cls, desc: Any) -> _Desc | None:
        if desc is None:
            return None
        pattern = desc.national_number_pattern
        return cls(frozenset(desc.possible_length or ()), re.compile(pattern) if pattern else None)

    def matches(self, national: str) -> bool:
        if self.lengths and len(national) not in self.lengths:
            return False
        return self.pattern is not None and self.pattern.fullmatch(national) is not None


_SPECIAL_TYPES = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
)


@dataclass(frozen=True, slots=True)
class _Plan:
    """One region's metadata, with its patterns compiled once."""

    country_code: int
    country_code_text: str
    international_prefix: re.Pattern[str] | None
    national_prefix: re.Pattern[str] | None
    general: _Desc | None
    special: tuple[tuple[_Desc | None, int], ...]
    fixed_line: _Desc | None
    mobile: _Desc | None
    same_mobile_and_fixed_line: bool

    @classmethod
    def of(cls, metadata: Any) -> _Plan:
        idd = metadata.international_prefix
        national_prefix = metadata.national_prefix_for_parsing
        return cls(
            country_code=metadata.country_code,
            country_code_text=str(metadata.country_code),
            international_prefix=re.compile(idd) if idd is not None else None,
            national_prefix=re.compile(national_prefix) if national_prefix else None,
            general=_Desc.of(metadata.general_desc),
            special=tuple((_Desc.of(getattr(metadata, n)), t) for n, t in _SPECIAL_TYPES),
            fixed_line=_Desc.of(metadata.fixed_line),
            mobile=_Desc.of(metadata.mobile),
            same_mobile_and_fixed_line=bool(metadata.same_mobile_and_fixed_line_pattern),
        )

    def number_type(self, national: str) -> int:
        """``_number_type_helper`` of phonenumbers, step for step."""
        if not _matches(self.general, national):
            return PhoneNumberType.UNKNOWN
        for desc, number_type in self.special:
            if _matches(desc, national):
                return number_type
        if _matches(self.fixed_line, national):
            if self.same_mobile_and_fixed_line or _matches(self.mobile, national):
                return PhoneNumberType.FIXED_LINE_OR_MOBILE
            return PhoneNumberType.FIXED_LINE
        if not self.same_mobile_and_fixed_line and _matches(self.mobile, national):
            return PhoneNumberType.MOBILE
        return PhoneNumberType.UNKNOWN


def _matches(desc: _Desc | None, national: str) -> bool:
    return desc is not None and desc.matches(national)


@cache
def _region_plan(region: str) -> _Plan | None:
    if region not in SUPPORTED_REGIONS:  # parse() then needs a + to go on
        return None
    metadata = PhoneMetadata.metadata_for_region(region, None)
    return None if metadata is None else _Plan.of(metadata)


@cache
def _calling_code_plan(country_code: int) -> _Plan | None:
    """The metadata parse() reads a +number with: the calling code's main region's."""
    main = phonenumbers.region_code_for_country_code(country_code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, main)
    return None if metadata is None else _Plan.of(metadata)


def _read_simple(text: str, region: str) -> tuple[int, str] | None:
    """(country code, national significant number) as parse() reads ``text``, or None."""
    shape = _SIMPLE.fullmatch(text) if len(text) <= _MAX_INPUT else None
    if shape is None:
        return None
    plan = _region_plan(region)
    if plan is None:
        return None
    digits = text.translate(_SEPARATORS)
    if len(digits) - bool(shape.group(1)) < _MIN_DIGITS:
        return None
    if shape.group(1):
        return _international(digits[1:])
    if plan.international_prefix is not None and plan.international_prefix.match(digits):
        return None  # dialled with an international prefix: parse() decides
    if digits.startswith(plan.country_code_text):
        return None  # maybe the region's country code without +: parse() decides
    return _national(plan, plan.country_code, digits)


def _international(digits: str) -> tuple[int, str] | None:
    if digits[0] == "0":
        return None  # not a country code: parse() retries and reports
    for size in range(1, min(len(digits), _MAX_COUNTRY_CODE) + 1):
        country_code = int(digits[:size])
        if country_code in COUNTRY_CODE_TO_REGION_CODE:
            plan = _calling_code_plan(country_code)
            return None if plan is None else _national(plan, country_code, digits[size:])
    return None


def _national(plan: _Plan, country_code: int, national: str) -> tuple[int, str] | None:
    """The national number when parse() would keep it as it is: no national prefix or carrier
    code to strip, no leading zero, a length it accepts."""
    if not 2 <= len(national) <= _MAX_NATIONAL or national[0] == "0":
        return None
    if plan.national_prefix is not None and plan.national_prefix.match(national):
        return None
    return country_code, national


def _number_type(country_code: int, national: str) -> int:
    regions = COUNTRY_CODE_TO_REGION_CODE[country_code]
    if len(regions) != 1:  # e.g. +1: which region is itself a validation; the library's
        number = PhoneNumber(country_code=country_code, national_number=int(national))
        return int(phonenumbers.number_type(number))
    # A one-region calling code's only region is its main one: the metadata parse() read
    # the number with is the one number_type() checks it against.
    plan = _calling_code_plan(country_code)
    return PhoneNumberType.UNKNOWN if plan is None else plan.number_type(national)
