"""The ``voicebot`` command: one Typer app, each command group in its own module."""

from __future__ import annotations

import typer

from voicebot.cli import (
    campaign_cmd,
    compliance_cmd,
    db_cmd,
    demo_cmd,
    dialog_eval_cmd,
    dialplan_cmd,
    ivr_cmd,
    messaging_cmd,
    nlu_cmd,
    recordings_cmd,
    serve_cmd,
    simulate_cmd,
    speech_cmd,
    worker_cmd,
)
from voicebot.cli.errors import VoicebotGroup

app = typer.Typer(
    name="voicebot",
    cls=VoicebotGroup,
    help="Voicebot and IVR for debt collection (Spanish-first).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
eval_app = typer.Typer(
    help="Measure understanding and recognition on labeled data.", no_args_is_help=True
)
app.add_typer(eval_app, name="eval")

dialplan_cmd.register(app)
nlu_cmd.register(app, eval_app)
simulate_cmd.register(app)
dialog_eval_cmd.register(eval_app)
speech_cmd.register(app, eval_app)
campaign_cmd.register(app)
db_cmd.register(app)
worker_cmd.register(app)
ivr_cmd.register(app)
compliance_cmd.register(app)
demo_cmd.register(app)
serve_cmd.register(app)
recordings_cmd.register(app)
messaging_cmd.register(app)


def main() -> None:
    app()
