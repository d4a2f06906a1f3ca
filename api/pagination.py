"""Limit/offset pages with the total, so a client can show "page 3 of 40"."""

from __future__ import annotations

from base64 import urlsafe_b64decode, urlsafe_b64encode
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from api.errors import ApiError
from api.fields import INT32_MAX
from api.schemas import Page

M = TypeVar("M", bound=BaseModel)

Limit = Annotated[int, Query(ge=1, le=500, description="Page size")]
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


def encode_cursor(at: datetime, key: int) -> str:
    return urlsafe_b64encode(f"{at.isoformat()}|{key}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The position after which the next page starts; a mangled cursor is the client's error."""
    try:
        text = urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, key = text.split("|")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError("naive")
        return moment, int(key)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(422, "invalid_cursor", "the cursor is not one this API issued") from exc
