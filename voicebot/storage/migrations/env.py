"""Alembic environment: migrations run against the URL given by voicebot.storage.db."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

from voicebot.storage.db import make_engine
from voicebot.storage.models import Base

config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    """``-x url=...``, else the URL the caller set (db.upgrade), else the service's setting."""
    given = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if given:
        return given
    from voicebot.config import Settings  # only the command-line path reads the environment

    return Settings().database_url


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
