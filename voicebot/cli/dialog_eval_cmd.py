"""``voicebot eval dialog``: score whole scripted conversations with a dialplan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from voicebot.cli.errors import InputError, load_plan
from voicebot.config import Settings
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
    dialplan: Annotated[
        Path | None,
        typer.Option(help="Dialplan YAML (default: VOICEBOT_DIALPLAN, the shipped one)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the score as JSON.")] = False,
) -> None:
    """Play each conversation on the text line; print passes and, for each miss, why."""
    plan = load_plan(dialplan or Settings().dialplan)
    try:
        with file.open(encoding="utf-8") as handle:
            conversations = read_conversations(handle)
    except OSError as exc:
        raise InputError(f"cannot read {file}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{file} is not UTF-8 text") from None
    except ConversationDataError as exc:
        raise InputError(f"{file}:{exc.line}: {exc.problem}") from None
    report = evaluate(plan, conversations)
    if as_json:
        typer.echo(json.dumps({"file": str(file), **report.to_json()}, ensure_ascii=False))
    else:
        typer.echo(render(report))


def register(eval_app: typer.Typer) -> None:
    eval_app.command("dialog")(eval_dialog)
