"""Bulk INSERT and staging tables for imports of hundreds of thousands of rows.

On PostgreSQL a batch travels by ``COPY``: the server parses no statement per row and
psycopg formats the rows in C. On SQLite the rows go to the driver's executemany
with each column's bind processor looked up once: a Core executemany spends more CPU
building per-row parameters than SQLite spends storing them. Python-side column
defaults (``default=``) are applied here, since both paths bypass
SQLAlchemy's per-row default handling. ``stage`` loads rows the same ways into a
temporary table, for callers that merge them with set-based SQL (the portfolio import).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Table
from sqlalchemy.orm import Session


def _default(column: Column[Any]) -> Any:
    default: Any = column.default
    if default is None:
        return None
    if default.is_callable:
        return default.arg(None)  # SQLAlchemy wraps zero-argument callables to take a context
    if default.is_scalar:
        return default.arg
    raise ValueError(f"{column.table.name}.{column.name}: unsupported default {default!r}")


def _pg_rows(
    table: Table, names: Sequence[str], columns: Sequence[Sequence[Any]]
) -> Iterator[tuple[Any, ...]]:
    """Rows for ``COPY``; JSON values travel as JSON text (psycopg would send a list as an array)."""
    json_columns = [isinstance(table.c[n].type, JSON) for n in names]
    converted = [
        [None if v is None else json.dumps(v) for v in values] if is_json else values
        for values, is_json in zip(columns, json_columns, strict=True)
    ]
    return zip(*converted, strict=True)


def _copy(
    session: Session, table: str, names: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """``COPY ... FROM STDIN`` in the session's transaction.

    psycopg formats COPY rows in C; parameters of an INSERT over ``unnest()`` arrays are
    formatted in Python, which was most of a large PostgreSQL import's CPU.
    """
    quote = session.get_bind().dialect.identifier_preparer.quote
    connection: Any = session.connection().connection.dbapi_connection
    with connection.cursor() as cursor:
        columns = ", ".join(quote(n) for n in names)
        with cursor.copy(f"COPY {quote(table)} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _driver_rows(
    session: Session,
    table: Table,
    names: Sequence[str],
    columns: Sequence[Sequence[Any]],
    constant: Collection[str] = (),
) -> list[tuple[Any, ...]]:
    """Rows as the driver takes them: each value through its column type's bind processor.

    A ``constant`` column (a default shared by every row, e.g. one ``updated_at``) is
    processed once, not once per row: timestamps and JSON are the costly processors.
    """
    dialect = session.get_bind().dialect
    processed: list[Sequence[Any]] = []
    for name, values in zip(names, columns, strict=True):
        process = table.c[name].type.bind_processor(dialect)
        if process is None:
            processed.append(values)
        elif name in constant and values:
            processed.append([_driver_value(dialect.name, process(values[0]))] * len(values))
        else:
            none = process(None)  # e.g. JSON null, most rows' authorized channels
            processed.append([none if v is None else process(v) for v in values])
    return list(zip(*processed, strict=True))


def _driver_value(dialect: str, value: Any) -> Any:
    """SQLite's driver turns a datetime into text on every row; a shared one, once here."""
    if dialect == "sqlite" and isinstance(value, datetime):
        return value.isoformat(" ")
    return value


def _execute_many(session: Session, sql: str, rows: list[tuple[Any, ...]]) -> None:
    session.connection().exec_driver_sql(sql, rows)


def bulk_insert(session: Session, *, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys) in one round trip where the backend allows."""
    if not rows:
        return
    given = list(rows[0])
    defaulted = {
        c.name: _default(c) for c in table.columns if c.name not in given and c.default is not None
    }
    names = [*given, *defaulted]
    params = tuple(
        [row[n] for row in rows] if n in given else [defaulted[n]] * len(rows) for n in names
    )
    if not _is_postgresql(session):
        quote = session.get_bind().dialect.identifier_preparer.quote
        _execute_many(
            session,
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
            f"VALUES ({', '.join('?' * len(names))})",
            _driver_rows(session, table, names, params, constant=defaulted),
        )
        return
    _copy(session, table.name, names, _pg_rows(table, names, params))


def column_defaults(table: Table) -> dict[str, Any]:
    """Each column's Python-side default (``default=``), evaluated once: the value a
    set-based INSERT gives every row, as the ORM would give each."""
    return {c.name: _default(c) for c in table.columns if c.default is not None}


def stage(session: Session, *, name: str, shape: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """A temporary table ``name`` typed like the columns of the query ``shape``, holding ``rows``.

    Set-based SQL then merges it into the real tables inside the database. Loaded by
    ``COPY`` on PostgreSQL, by one executemany on SQLite (a temporary table has no indexes
    to keep and no write-ahead log). The caller's transaction owns it: ``drop_staged`` it.
    """
    connection = session.connection()
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")  # left by a rolled-back batch
    connection.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} AS {shape} WHERE 1 = 0")
    if not rows:
        return
    if _is_postgresql(session):
        dbapi: Any = connection.connection.dbapi_connection
        with dbapi.cursor() as cursor, cursor.copy(f"COPY {name} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(rows[0]))
    _execute_many(session, f"INSERT INTO {name} VALUES ({marks})", list(rows))


def drop_staged(session: Session, name: str) -> None:
    session.connection().exec_driver_sql(f"DROP TABLE {name}")
