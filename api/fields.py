"""Edge types: every value a request carries is bounded to what storage can hold and read back.

Without them an id of 2**63 overflowed SQLite (500), ``"1E+999999"`` stored ``inf`` in a
``Numeric(16,2)`` column (every later read of it failed), a naive or year-9999 datetime
broke comparisons and UTC conversion, and a 500-deep JSON ``schedule`` was stored and
then made every campaign read fail. Lengths equal the columns' (PostgreSQL refuses longer).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, AwareDatetime, Field, WithJsonSchema

INT32_MAX = 2**31 - 1
"""Ids and counters are ``Integer`` columns (32-bit on PostgreSQL)."""
MONEY_MAX = Decimal("99999999999999.99")
"""``Numeric(16, 2)``: 14 integer digits, 2 decimals."""
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
JSON_MAX_DEPTH = 8
JSON_MAX_NODES = 2_000
JSON_MAX_STRING = 1_000


def _moment(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"must be between {EARLIEST.date()} and {LATEST.date()}")
    return value.astimezone(UTC)


def _day(value: date) -> date:
    if not EARLIEST.date() <= value < LATEST.date():
        raise ValueError(f"must be between {EARLIEST.date()} and {LATEST.date()}")
    return value


def _money(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite amount")
    if abs(value) > MONEY_MAX:
        raise ValueError(f"must be at most {MONEY_MAX}")
    if value != value.quantize(Decimal("0.01")):
        raise ValueError("must have at most 2 decimals")
    return value.quantize(Decimal("0.01"))


def _positive_money(value: Decimal) -> Decimal:
    value = _money(value)
    if value <= 0:
        raise ValueError("must be greater than 0")
    return value


def _non_negative_money(value: Decimal) -> Decimal:
    value = _money(value)
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


def _money_schema(*, positive: bool) -> dict[str, Any]:
    """What the edge accepts, as far as JSON Schema can say it (the published contract)."""
    bound = {"exclusiveMinimum": 0} if positive else {"minimum": 0}
    return {
        "anyOf": [
            {"type": "number", **bound, "maximum": float(MONEY_MAX)},
            {"type": "string", "pattern": r"^\+?[0-9]{1,14}(\.[0-9]{1,2})?$"},
        ]
    }


def _bounded_json(value: dict[str, Any]) -> dict[str, Any]:
    """Plain, shallow JSON (finite numbers, short strings) that every backend stores and reads."""
    nodes = 0

    def check(item: Any, depth: int) -> None:
        nonlocal nodes
        nodes += 1
        if nodes > JSON_MAX_NODES:
            raise ValueError(f"more than {JSON_MAX_NODES} values")
        if depth > JSON_MAX_DEPTH:
            raise ValueError(f"nested deeper than {JSON_MAX_DEPTH} levels")
        if isinstance(item, dict):
            for key, child in item.items():
                if len(key) > 120:
                    raise ValueError("keys are limited to 120 characters")
                check(child, depth + 1)
        elif isinstance(item, list):
            for child in item:
                check(child, depth + 1)
        elif isinstance(item, str):
            if len(item) > JSON_MAX_STRING or "\x00" in item:
                raise ValueError(f"strings are limited to {JSON_MAX_STRING} characters, no NUL")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ValueError("numbers must be finite")
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > 2**53:
            raise ValueError("integers must be within ±2**53")

    check(value, 1)
    return value


def text(max_length: int, *, min_length: int = 0, **extra: Any) -> Any:
    """A string field as long as its column, without NUL (PostgreSQL refuses it in text);
    optional (empty) unless ``min_length`` asks for content."""
    if min_length == 0:
        extra.setdefault("default", "")
    return Field(min_length=min_length, max_length=max_length, pattern=r"^[^\x00]*$", **extra)


Moment = Annotated[AwareDatetime, AfterValidator(_moment)]
Day = Annotated[date, AfterValidator(_day)]
PositiveMoney = Annotated[
    Decimal,
    Field(allow_inf_nan=False),
    AfterValidator(_positive_money),
    WithJsonSchema(_money_schema(positive=True), mode="validation"),
]
NonNegativeMoney = Annotated[
    Decimal,
    Field(allow_inf_nan=False),
    AfterValidator(_non_negative_money),
    WithJsonSchema(_money_schema(positive=False), mode="validation"),
]
DbInt = Annotated[int, Field(ge=0, le=INT32_MAX)]
BoundedJson = Annotated[dict[str, Any], AfterValidator(_bounded_json)]

IdPath = Annotated[int, Path(ge=1, le=INT32_MAX)]
IdQuery = Annotated[int | None, Query(ge=1, le=INT32_MAX)]
MomentQuery = Annotated[Moment | None, Query(description="Aware ISO 8601 (with an offset)")]
DayQuery = Annotated[Day | None, Query()]


def filter_text(max_length: int, description: str = "") -> Any:
    return Query(max_length=max_length, pattern=r"^[^\x00]*$", description=description or None)
