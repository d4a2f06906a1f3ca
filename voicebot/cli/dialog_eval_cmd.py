"""``voicebot eval dialog``: score whole scripted conversations with a dialplan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from voicebot.cli.simulate_cmd import DEFAULT_DIALPLAN
from voicebot.dialog.plan import DialplanError
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.engine.conversation_eval import (
    ConversationDataError,
    evaluate,
    read_conversations,
    render,
)


def eval_dialog(
    file: Annotated[
        Path, typer.Argument(help="Conversations JSONL: id, today, at, debtor, turns, expect.")
    ],
    dialplan: Annotated[Path, typer.Option(help="Dialplan YAML.")] = DEFAULT_DIALPLAN,
    as_json: Annotated[bool, typer.Option("--json", help="Print the score as JSON.")] = False,
) -> None:
    """Play each conversation on the text line; print passes and, for each miss, why."""
    try:
        plan = load_dialplan(dialplan)
    except DialplanError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from exc
    try:
        with file.open(encoding="utf-8") as handle:
            conversations = read_conversations(handle)
    except OSError as exc:
        typer.echo(f"{file}: cannot read: {exc.strerror or exc}", err=True)
        raise typer.Exit(code=2) from None
    except UnicodeDecodeError:
        typer.echo(f"{file}: not UTF-8 text", err=True)
        raise typer.Exit(code=2) from None
    except ConversationDataError as exc:
        typer.echo(f"{file}:{exc.line}: {exc.problem}", err=True)
        raise typer.Exit(code=2) from None
    report = evaluate(plan, conversations)
    if as_json:
        typer.echo(json.dumps({"file": str(file), **report.to_json()}, ensure_ascii=False))
    else:
        typer.echo(render(report))


def register(eval_app: typer.Typer) -> None:
    eval_app.command("dialog")(eval_dialog)
