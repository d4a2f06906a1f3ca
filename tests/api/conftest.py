"""API fixtures: a service on each database backend, and a cheaper SQLite-only one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_world import World, open_world, populate


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    """Populated, on SQLite and on PostgreSQL (the core flows run on both)."""
    for w in open_world(db_url):
        yield populate(w)


@pytest.fixture
def sqlite_url(fresh_sqlite_url: str) -> str:
    return fresh_sqlite_url


@pytest.fixture
def lite(sqlite_url: str) -> Iterator[World]:
    """Populated, SQLite only: for the role matrix and the edges."""
    for w in open_world(sqlite_url):
        yield populate(w)


@pytest.fixture
def empty(sqlite_url: str) -> Iterator[World]:
    """Keys and agents only."""
    yield from open_world(sqlite_url)
