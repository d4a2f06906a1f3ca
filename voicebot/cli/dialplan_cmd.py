"""``voicebot dialplan check FILE``: validate a dialplan before any debtor hears it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voicebot.config import Settings
from voicebot.dialog.plan import DialplanError
from voicebot.dialog.plan_loader import load_dialplan

dialplan_app = typer.Typer(help="Build and debug dialplans.", no_args_is_help=True)


@dialplan_app.command("check")
def check(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Dialplan YAML files to validate (default: VOICEBOT_DIALPLAN)."),
    ] = None,
) -> None:
    """Validate dialplans; print every mistake with its file, line and YAML path."""
    failed = 0
    for path in files or [Settings().dialplan]:
        try:
            plan = load_dialplan(path)
        except DialplanError as exc:
            failed += 1
            typer.echo(f"{path}: {len(exc.problems)} problem(s)", err=True)
            for problem in exc.problems:
                typer.echo(f"  {problem.render(exc.source)}", err=True)
            continue
        disclosing = sum(1 for p in plan.prompts.values() if p.discloses)
        typer.echo(
            f"{path}: ok — {len(plan.states)} states, {len(plan.prompts)} prompts "
            f"({disclosing} disclose the debt, all behind right-party verification)"
        )
        for group in plan.groups.values():
            shared = ", ".join("/".join(t.intents or (t.event or t.dtmf or "",)) for t in group.on)
            typer.echo(f"  group {group.name}: {', '.join(group.states)}; shared: {shared}")
    if failed:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.add_typer(dialplan_app, name="dialplan")
