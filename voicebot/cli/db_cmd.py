"""``voicebot db upgrade`` (the compose file's ``migrate`` step) and ``voicebot db check``.

``db check`` is the services' container health check: it uses the process's own settings, so
it fails when the database is unreachable or its schema is behind this version's migrations.
"""

from __future__ import annotations

import typer
from sqlalchemy.exc import OperationalError

from voicebot.cli.errors import unreachable
from voicebot.config import Settings
from voicebot.storage.db import schema_revisions, upgrade

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema at VOICEBOT_DATABASE_URL (SQLite file by default)."""
    settings = Settings()
    where = settings.database_url.split("@")[-1]
    try:
        upgrade(settings.database_url)
    except OperationalError as exc:
        raise unreachable(settings.database_url, exc) from exc
    typer.echo(f"schema up to date: {where}")


@db_app.command("check")
def db_check() -> None:
    """Exit 0 when the database answers and its schema is current (a health check), else 1."""
    settings = Settings()
    where = settings.database_url.split("@")[-1]
    try:
        current, head = schema_revisions(settings.database_url)
    except OperationalError as exc:
        typer.echo(f"error: {unreachable(settings.database_url, exc)}", err=True)
        raise typer.Exit(code=1) from exc
    if current != head:
        typer.echo(
            f"error: schema at {current or 'nothing'}, expected {head}: run voicebot db upgrade",
            err=True,
        )
        raise typer.Exit(code=1)
    typer.echo(f"ok: {where} at {head}")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
