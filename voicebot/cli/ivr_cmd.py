"""``voicebot ivr``: the inbound listener, answering the callback number on a real carrier.

Like ``worker`` it checks what it needs first (the carrier's settings, a recognizer, the inbound
dialplan) and refuses to start with one line saying what is missing.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from voicebot.cli.errors import InputError, load_plan
from voicebot.cli.worker_cmd import missing_carrier_settings
from voicebot.config import Settings
from voicebot.dialog.plan import Dialplan
from voicebot.speech.model_files import ModelNotFound


def ivr(
    carrier: Annotated[
        str, typer.Option(help="twilio (settings VOICEBOT_TWILIO__*); sip is not available yet.")
    ] = "twilio",
) -> None:
    """Answer calls to the callback number with the inbound dialplan until stopped."""
    from voicebot.wiring import recognizer_model

    if carrier == "sip":
        raise InputError(
            "--carrier sip: answering on SIP is not available yet (only dialing is); "
            "use --carrier twilio, or voicebot simulate --inbound to try the inbound dialplan"
        )
    if carrier != "twilio":
        raise InputError(f"--carrier: expected twilio, got {carrier!r}")
    settings = Settings()
    missing = missing_carrier_settings(settings, carrier)
    if missing:
        raise InputError(f"the {carrier} carrier needs {', '.join(missing)}")
    try:
        recognizer_model(settings)
    except ModelNotFound as exc:
        raise InputError(
            f"refusing to answer calls without a speech recognizer (the bot could not hear "
            f"the caller): {exc}"
        ) from exc
    plan = load_plan(settings.inbound_dialplan)
    asyncio.run(_answer(settings, plan))


async def _answer(settings: Settings, plan: Dialplan) -> None:
    from voicebot.cli.lookup import sessions_for
    from voicebot.wiring import inbound_answering, twilio_carrier

    twilio = twilio_carrier(settings, plan)
    answering = inbound_answering(settings, plan, sessions_for(settings), twilio.transferrer_for)
    twilio.answer_incoming(answering.handle)
    server = await twilio.start(settings.twilio.listen_host, settings.twilio.listen_port)
    base = settings.twilio.public_base_url.rstrip("/")
    typer.echo(f"answering: set the number's voice webhook (POST) to {base}/twilio/incoming")
    try:
        await asyncio.Event().wait()  # until interrupted
    finally:
        await twilio.close()
        await server.cleanup()


def register(app: typer.Typer) -> None:
    app.command("ivr")(ivr)
