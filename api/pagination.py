"""Limit/offset pages with the total, so a client can show "page 3 of 40"."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from api.schemas import Page

M = TypeVar("M", bound=BaseModel)

Limit = Annotated[int, Query(ge=1, le=500, description="Page size")]
Offset = Annotated[int, Query(ge=0, description="Rows to skip")]


def paginate(
    session: Session, query: Select[Any], *, limit: int, offset: int, schema: type[M]
) -> Page[M]:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.scalars(query.limit(limit).offset(offset)).all()
    return Page[M](
        items=[schema.model_validate(r) for r in rows],
        total=int(total or 0),
        limit=limit,
        offset=offset,
    )
