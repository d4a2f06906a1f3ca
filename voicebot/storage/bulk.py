"""Bulk INSERT and UPDATE-by-id for imports of hundreds of thousands of rows.

On PostgreSQL a batch travels as one statement over ``unnest()`` of one array per
column: the server parses it once instead of once per row, and the driver never
splits a multi-megabyte VALUES list. Elsewhere (SQLite) a Core executemany is
already cheap. Python-side column defaults (``default=`` / ``onupdate=``) are applied
here, since the array path bypasses SQLAlchemy's per-row default handling.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Table, bindparam, insert, update
from sqlalchemy.orm import Session


def _default(column: Column[Any], *, on_update: bool = False) -> Any:
    default: Any = column.onupdate if on_update else column.default
    if default is None:
        return None
    if default.is_callable:
        return default.arg(None)  # SQLAlchemy wraps zero-argument callables to take a context
    if default.is_scalar:
        return default.arg
    raise ValueError(f"{column.table.name}.{column.name}: unsupported default {default!r}")


def _unnest(session: Session, table: Table, names: Sequence[str]) -> tuple[str, str]:
    dialect = session.get_bind().dialect
    quote = dialect.identifier_preparer.quote
    arrays = ", ".join(f"%s::{table.c[n].type.compile(dialect=dialect)}[]" for n in names)
    return ", ".join(quote(n) for n in names), arrays


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def bulk_insert(session: Session, *, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys) in one round trip where the backend allows."""
    if not rows:
        return
    if not _is_postgresql(session):
        session.execute(insert(table), list(rows))
        return
    given = list(rows[0])
    defaulted = {
        c.name: _default(c) for c in table.columns if c.name not in given and c.default is not None
    }
    names = [*given, *defaulted]
    columns, arrays = _unnest(session, table, names)
    params = tuple(
        [row[n] for row in rows] if n in given else [defaulted[n]] * len(rows) for n in names
    )
    session.connection().exec_driver_sql(
        f"INSERT INTO {table.name} ({columns}) SELECT * FROM unnest({arrays})", params
    )


def bulk_update_by_id(
    session: Session, *, table: Table, rows: Sequence[tuple[int, dict[str, Any]]]
) -> None:
    """Set each row's values by primary key ``id``; ``onupdate`` columns are refreshed too."""
    if not rows:
        return
    given = list(rows[0][1])
    refreshed = {
        c.name: _default(c, on_update=True)
        for c in table.columns
        if c.name not in given and c.onupdate is not None
    }
    if not _is_postgresql(session):
        statement = (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({name: bindparam(name) for name in given})
        )
        session.execute(statement, [{"_id": row_id, **values} for row_id, values in rows])
        return
    names = ["id", *given, *refreshed]
    columns, arrays = _unnest(session, table, names)
    assignments = ", ".join(f"{c} = v.{c}" for c in columns.split(", ")[1:])
    params = tuple(
        [row_id for row_id, _ in rows]
        if n == "id"
        else [values[n] for _, values in rows]
        if n in given
        else [refreshed[n]] * len(rows)
        for n in names
    )
    session.connection().exec_driver_sql(
        f"UPDATE {table.name} AS t SET {assignments} "
        f"FROM unnest({arrays}) AS v({columns}) WHERE t.id = v.id",
        params,
    )
