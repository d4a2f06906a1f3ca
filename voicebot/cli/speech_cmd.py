"""CLI commands (being built)."""

from __future__ import annotations

import typer


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    """Attach this module's commands to the main app and the ``eval`` group."""
