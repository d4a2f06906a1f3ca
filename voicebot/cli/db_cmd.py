"""``voicebot db upgrade``: create or migrate the schema (the compose file's ``migrate`` step)."""

from __future__ import annotations

import typer
from sqlalchemy.exc import OperationalError

from voicebot.cli.errors import InputError
from voicebot.config import Settings
from voicebot.storage.db import upgrade

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema at VOICEBOT_DATABASE_URL (SQLite file by default)."""
    settings = Settings()
    where = settings.database_url.split("@")[-1]
    try:
        upgrade(settings.database_url)
    except OperationalError as exc:
        first = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else "unreachable"
        raise InputError(f"cannot reach the database at {where}: {first}") from exc
    typer.echo(f"schema up to date: {where}")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
