"""``voicebot worker``: a dialer worker on a real carrier (SIP or Twilio), sharing the hopper.

It checks everything it needs before the first dial (the trunk's settings, the campaign,
its dialplan, a recognizer for the configured language) and refuses to start with one line
saying what is missing: a worker that cannot hear the debtor must not call anyone.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from voicebot.cli.errors import InputError, load_plan
from voicebot.cli.lookup import find_campaign, sessions_for
from voicebot.config import Settings
from voicebot.dialog.plan import Dialplan
from voicebot.engine.worker_processes import ChildSpec, default_processes, supervise
from voicebot.speech.model_files import ModelNotFound
from voicebot.storage import models as m

CARRIERS = ("sip", "twilio")


def process_environments(settings: Settings, carrier: str, processes: int) -> list[dict[str, str]]:
    """What each of ``processes`` SIP workers on one machine must not share, as settings.

    Each gets its own SIP port (``local_port + k``; 0 stays "any free port"), a slice of the
    RTP port range, its own health port and, when one is configured, its own worker id.
    """
    if processes < 1:
        raise InputError(f"--processes: expected 0 (one per core) or more, got {processes}")
    if carrier != "sip" and processes > 1:
        raise InputError(
            f"--processes: a {carrier} worker serves one public webhook URL; run one process "
            "per URL instead"
        )
    if processes == 1:
        return [{}]  # the settings as they are
    sip, dialer = settings.sip, settings.dialer
    span = (sip.rtp_port_high - sip.rtp_port_low) // processes
    if span < 2:
        raise InputError(
            f"--processes {processes}: the RTP range {sip.rtp_port_low}-{sip.rtp_port_high} "
            "is too small to give each process its own ports"
        )
    envs: list[dict[str, str]] = []
    for k in range(processes):
        env = {
            "VOICEBOT_SIP__RTP_PORT_LOW": str(sip.rtp_port_low + k * span),
            "VOICEBOT_SIP__RTP_PORT_HIGH": str(sip.rtp_port_low + (k + 1) * span - 1),
        }
        if sip.local_port:
            env["VOICEBOT_SIP__LOCAL_PORT"] = str(sip.local_port + k)
        if dialer.health_port:
            env["VOICEBOT_DIALER__HEALTH_PORT"] = str(dialer.health_port + k)
        if dialer.worker_id:
            env["VOICEBOT_DIALER__WORKER_ID"] = f"{dialer.worker_id}-{k + 1}"
        envs.append(env)
    return envs


def missing_carrier_settings(settings: Settings, carrier: str) -> list[str]:
    """The carrier's required settings left empty, by their environment variable names."""
    required = {
        "sip": ("server", "user"),
        "twilio": ("account_sid", "auth_token", "from_number", "public_base_url"),
    }[carrier]
    values = settings.sip if carrier == "sip" else settings.twilio
    prefix = f"VOICEBOT_{carrier.upper()}__"
    return [prefix + name.upper() for name in required if not getattr(values, name)]


def worker(
    campaign: Annotated[str, typer.Option(help="Campaign to dial.")],
    carrier: Annotated[
        str, typer.Option(help="sip or twilio (settings VOICEBOT_SIP__* / VOICEBOT_TWILIO__*).")
    ] = "sip",
    once: Annotated[
        bool, typer.Option(help="Stop when nothing is due instead of waiting for more.")
    ] = False,
    processes: Annotated[
        int,
        typer.Option(
            help="SIP worker processes sharing the hopper on this machine (0: one per core). "
            "Each loads its own recognizer model (about 750 MB)."
        ),
    ] = 1,
    inbound: Annotated[
        bool,
        typer.Option(
            "--inbound",
            help="Also answer calls to the carrier's number with the inbound dialplan "
            "(VOICEBOT_INBOUND_DIALPLAN), as `voicebot ivr` does.",
        ),
    ] = False,
) -> None:
    """A dialer worker: claims due attempts from the shared hopper and calls them."""
    from voicebot.wiring import recognizer_model

    if carrier not in CARRIERS:
        raise InputError(f"--carrier: expected sip or twilio, got {carrier!r}")
    settings = Settings()
    missing = missing_carrier_settings(settings, carrier)
    if missing:
        raise InputError(f"the {carrier} carrier needs {', '.join(missing)}")
    if processes == 0:
        processes = default_processes()
    envs = process_environments(settings, carrier, processes)
    if inbound and processes > 1:
        raise InputError(
            "--inbound answers the callback number from one process: use it without "
            "--processes, or run `voicebot ivr` beside the worker processes"
        )
    try:
        recognizer_model(settings)
    except ModelNotFound as exc:
        raise InputError(
            f"refusing to dial on {carrier} without a speech recognizer "
            f"(the bot could not hear the debtor): {exc}"
        ) from exc
    sessions = sessions_for(settings)
    campaign_key = find_campaign(sessions, campaign)
    with sessions() as s:
        plan_path = s.get_one(m.Campaign, campaign_key).dialplan
    plan = load_plan(Path(plan_path))
    if processes == 1:
        inbound_plan = load_plan(settings.inbound_dialplan) if inbound else None
        asyncio.run(_work(settings, plan, carrier, campaign_key, once, inbound_plan))
        return
    argv = (
        *(sys.executable, "-m", "voicebot.cli", "worker", "--campaign", campaign),
        *("--carrier", carrier, "--once" if once else "--no-once", "--processes", "1"),
    )
    status = supervise([ChildSpec(argv, env) for env in envs])
    if status != 0:
        raise typer.Exit(status if status > 0 else 1)


async def _work(
    settings: Settings,
    plan: Dialplan,
    carrier: str,
    campaign: int,
    once: bool,
    inbound_plan: Dialplan | None = None,
) -> None:
    from voicebot.engine.dialer import CallRunner, Dialer
    from voicebot.engine.worker_health import serve as serve_health
    from voicebot.wiring import (
        call_recordings,
        inbound_answering,
        sip_carrier,
        sip_runner,
        sip_transferrer_for,
        twilio_carrier,
        twilio_runner,
    )

    sessions = sessions_for(settings)
    recordings = call_recordings(settings, sessions)

    async def dial_all(runner: CallRunner) -> None:
        dialer = Dialer(
            sessions,
            runner,
            worker_id=settings.dialer.worker_id or None,
            lease_seconds=settings.dialer.lease_seconds,
            journal_dir=settings.dialer.journal_dir,
            max_call_seconds=settings.dialer.max_call_seconds,
        )
        health = None
        if settings.dialer.health_port:
            health = await serve_health(
                dialer.health, settings.dialer.health_host, settings.dialer.health_port
            )
        try:
            stats = await dialer.run(
                campaign_id=campaign, until_idle=once, poll_s=settings.dialer.poll_seconds
            )
        finally:
            dialer.close()
            if health is not None:
                await health.cleanup()
        typer.echo(f"worker done: {stats}")

    if carrier == "sip":
        async with sip_carrier(settings) as sip:
            if inbound_plan is not None:
                transferrer_for = sip_transferrer_for(settings, sip)
                answering = inbound_answering(settings, inbound_plan, sessions, transferrer_for)
                sip.answer_incoming(answering.handle)
            await dial_all(sip_runner(settings, plan, sip, recordings))
        return
    twilio = twilio_carrier(settings, plan)
    if inbound_plan is not None:
        answering = inbound_answering(settings, inbound_plan, sessions, twilio.transferrer_for)
        twilio.answer_incoming(answering.handle)
    server = await twilio.start(settings.twilio.listen_host, settings.twilio.listen_port)
    try:
        await dial_all(twilio_runner(settings, plan, twilio, recordings))
    finally:
        await twilio.close()
        await server.cleanup()


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
