"""``voicebot ivr``: the inbound listener, answering the callback number on a real carrier.

Like ``worker`` it checks what it needs first (the carrier's settings, a recognizer, the inbound
dialplan) and refuses to start with one line saying what is missing.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from voicebot.cli.errors import InputError, load_plan
from voicebot.cli.worker_cmd import CARRIERS, missing_carrier_settings
from voicebot.config import Settings
from voicebot.dialog.plan import Dialplan
from voicebot.speech.model_files import ModelNotFound


def ivr(
    carrier: Annotated[
        str,
        typer.Option(
            help="sip (registers as VOICEBOT_SIP__USER and answers its INVITEs) or twilio "
            "(the number's voice webhook is /twilio/incoming)."
        ),
    ] = "sip",
) -> None:
    """Answer calls to the callback number with the inbound dialplan until stopped."""
    from voicebot.wiring import recognizer_model

    if carrier not in CARRIERS:
        raise InputError(f"--carrier: expected sip or twilio, got {carrier!r}")
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
    asyncio.run(_answer_sip(settings, plan) if carrier == "sip" else _answer(settings, plan))


async def _answer_sip(settings: Settings, plan: Dialplan) -> None:
    from voicebot.cli.lookup import sessions_for
    from voicebot.wiring import inbound_answering, sip_carrier, sip_transferrer_for

    async with sip_carrier(settings) as sip:
        transferrer_for = sip_transferrer_for(settings, sip)
        answering = inbound_answering(settings, plan, sessions_for(settings), transferrer_for)
        sip.answer_incoming(answering.handle)
        where = f"{settings.sip.user}@{settings.sip.server}"
        typer.echo(f"answering calls to {where} (Ctrl-C to stop)")
        try:
            await asyncio.Event().wait()  # until interrupted
        finally:
            answering.close()  # its journal: removed, or kept on disk if anything is unsaved


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
        answering.close()
        await twilio.close()
        await server.cleanup()


def register(app: typer.Typer) -> None:
    app.command("ivr")(ivr)
