"""Limit/offset pages with the total, so a client can show "page 3 of 40"."""

from __future__ import annotations

import hashlib
import hmac
from base64 import urlsafe_b64decode, urlsafe_b64encode
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from api.errors import ApiError
from api.fields import EARLIEST, INT32_MAX, LATEST
from api.schemas import Page

M = TypeVar("M", bound=BaseModel)

Limit = Annotated[int, Query(ge=1, le=500, description="Page size")]
CURSOR_MAC_BYTES = 16

Offset = Annotated[int, Query(ge=0, le=INT32_MAX, description="Rows to skip")]


def paginate(
    session: Session,
    query: Select[Any],
    *,
    limit: int,
    offset: int,
    schema: type[M],
    counted: Select[Any] | None = None,
) -> Page[M]:
    """``counted``: the query whose rows ``total`` counts, when ``query`` adds a cursor."""
    counted = query if counted is None else counted
    total = session.scalar(select(func.count()).select_from(counted.order_by(None).subquery()))
    rows = session.scalars(query.limit(limit).offset(offset)).all()
    return Page[M](
        items=[schema.model_validate(r) for r in rows],
        total=int(total or 0),
        limit=limit,
        offset=offset,
    )


def encode_cursor(at: datetime, key: int, secret: bytes) -> str:
    """An opaque position, HMAC-signed so a client cannot forge one (scoping still applies)."""
    body = f"{at.isoformat()}|{key}".encode()
    mac = hmac.new(secret, body, hashlib.sha256).digest()[:CURSOR_MAC_BYTES]
    return urlsafe_b64encode(mac + body).decode().rstrip("=")


def decode_cursor(cursor: str, secret: bytes) -> tuple[datetime, int]:
    """The position after which the next page starts; a mangled cursor is the client's error."""
    invalid = ApiError(422, "invalid_cursor", "the cursor is not one this API issued")
    try:
        raw = urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, UnicodeEncodeError) as exc:
        raise invalid from exc
    mac, body = raw[:CURSOR_MAC_BYTES], raw[CURSOR_MAC_BYTES:]
    expected = hmac.new(secret, body, hashlib.sha256).digest()[:CURSOR_MAC_BYTES]
    if not hmac.compare_digest(mac, expected):
        raise invalid
    try:
        at, key = body.decode().split("|")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None or not EARLIEST <= moment < LATEST:
            raise ValueError("out of range")
        position = int(key)
        if not 0 <= position <= INT32_MAX:
            raise ValueError("out of range")
        return moment, position
    except (ValueError, UnicodeDecodeError, OverflowError) as exc:
        raise invalid from exc
