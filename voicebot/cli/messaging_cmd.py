"""``voicebot messages`` (policy, send) and ``voicebot payments`` (import, break-overdue)."""

from __future__ import annotations

import json
import signal
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import httpx
import typer

from voicebot.cli.errors import InputError, read_text
from voicebot.cli.lookup import find_campaign, sessions_for
from voicebot.config import Settings
from voicebot.engine.message_sender import send_due
from voicebot.followups.payments import (
    PaymentsError,
    break_overdue,
    import_payments,
    parse_payments,
)
from voicebot.followups.policy import KEYS, PolicyError, read_policy
from voicebot.messaging.channel import MessageChannel
from voicebot.messaging.log_channel import LogChannel
from voicebot.messaging.twilio_messages import STATUS_PATH, TwilioMessaging
from voicebot.storage import models as m
from voicebot.storage.db import transaction

messages_app = typer.Typer(
    help="Texts to debtors after the call (SMS, WhatsApp).", no_args_is_help=True
)
payments_app = typer.Typer(
    help="Payments from the creditor; promises kept or broken.", no_args_is_help=True
)


def message_channel(settings: Settings, client: httpx.Client) -> MessageChannel:
    """The configured channel; Twilio needs its account settings, checked here."""
    config = settings.messaging
    if config.provider == "log":
        return LogChannel()
    if config.provider != "twilio":
        raise InputError(f"VOICEBOT_MESSAGING__PROVIDER: log or twilio, got {config.provider!r}")
    twilio = settings.twilio
    sender = config.from_number or twilio.from_number
    missing = [
        name
        for name, value in (
            ("VOICEBOT_TWILIO__ACCOUNT_SID", twilio.account_sid),
            ("VOICEBOT_TWILIO__AUTH_TOKEN", twilio.auth_token),
            ("VOICEBOT_MESSAGING__FROM_NUMBER or VOICEBOT_TWILIO__FROM_NUMBER", sender),
        )
        if not value
    ]
    if missing:
        raise InputError(f"the twilio messaging channel needs {', '.join(missing)}")
    return TwilioMessaging(twilio.account_sid, twilio.auth_token, sender, client)


def status_callback_url(settings: Settings) -> str:
    base = settings.messaging.public_api_url.rstrip("/")
    return f"{base}{STATUS_PATH}" if base else ""


@messages_app.command("policy")
def policy(
    campaign: Annotated[str, typer.Argument(help="Campaign name.")],
    assignments: Annotated[
        list[str] | None,
        typer.Argument(help=f"KEY=VALUE to set ({', '.join(KEYS)}); KEY= removes it."),
    ] = None,
) -> None:
    """Show or change a campaign's messaging policy (checked before it is stored)."""
    sessions = sessions_for(Settings())
    campaign_id = find_campaign(sessions, campaign)
    with transaction(sessions) as s:
        row = s.get_one(m.Campaign, campaign_id)
        raw: dict[str, Any] = dict(row.messaging or {})
        for item in assignments or []:
            key, sep, value = item.partition("=")
            if not sep:
                raise InputError(f"expected KEY=VALUE, got {item!r}")
            if not value:
                raw.pop(key, None)
            elif key in ("whatsapp_templates", "after_broken"):
                try:
                    raw[key] = json.loads(value)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{key}: expected JSON ({exc})") from exc
            elif key in ("link_days_after_due", "reminder_hour"):
                try:
                    raw[key] = int(value)
                except ValueError as exc:
                    raise InputError(f"{key}: expected a whole number, got {value!r}") from exc
            else:
                raw[key] = value
        try:
            read_policy(raw)
        except PolicyError as exc:
            raise InputError(str(exc)) from exc
        row.messaging = raw
    shown = {k: ("***" if k == "link_secret" else v) for k, v in raw.items()}
    typer.echo(json.dumps(shown, ensure_ascii=False, sort_keys=True))


@messages_app.command("send")
def send(
    once: Annotated[bool, typer.Option(help="Send what is due once, then exit.")] = False,
) -> None:
    """Send due texts through VOICEBOT_MESSAGING__PROVIDER, each judged by compliance first."""
    settings = Settings()
    config = settings.messaging
    sessions = sessions_for(settings)
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with ExitStack() as stack:
        client = stack.enter_context(httpx.Client(timeout=config.timeout_seconds))
        channel = message_channel(settings, client)
        while True:
            report = send_due(
                sessions,
                channel,
                now=datetime.now(UTC),
                status_callback_url=status_callback_url(settings),
                limit=config.claim_batch,
            )
            counts = {k: len(v) for k, v in vars(report).items() if v}
            if counts:
                typer.echo(", ".join(f"{k} {n}" for k, n in counts.items()), err=True)
            if once or stopping:
                return
            if not counts:
                time.sleep(config.poll_seconds)


@payments_app.command("import")
def import_file(
    path: Annotated[
        Path, typer.Argument(help="CSV: payment_id,debt_ref,amount,currency,paid_on[,debtor_id]")
    ],
) -> None:
    """Record the creditor's payments and mark the promises they complete as kept."""
    text = read_text(path)
    try:
        rows = parse_payments(text)
        sessions = sessions_for(Settings())
        with transaction(sessions) as s:
            report = import_payments(s, rows, source=path.name, actor="cli", now=datetime.now(UTC))
    except PaymentsError as exc:
        raise InputError(f"{path}: nothing imported:\n" + "\n".join(exc.problems)) from exc
    typer.echo(
        f"imported {report.imported} payments ({report.already_imported} already imported): "
        f"{len(report.kept)} promises kept, {report.partial} partial, "
        f"{report.unmatched} with no pending promise"
    )


@payments_app.command("break-overdue")
def break_promises(
    grace_days: Annotated[
        int, typer.Option(min=0, help="Days after the date before a promise breaks.")
    ] = 1,
) -> None:
    """Mark unpaid promises past their date broken and put their debtors back in the hopper."""
    sessions = sessions_for(Settings())
    with transaction(sessions) as s:
        broken = break_overdue(s, now=datetime.now(UTC), actor="cli", grace_days=grace_days)
    typer.echo(f"{len(broken)} promises broken; their debtors are queued again")


def register(app: typer.Typer) -> None:
    app.add_typer(messages_app, name="messages")
    app.add_typer(payments_app, name="payments")
