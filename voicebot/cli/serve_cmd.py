"""``voicebot serve``, ``voicebot apikey create``, ``voicebot webhooks deliver``."""

from __future__ import annotations

import gc
import signal
import time
from datetime import UTC, datetime
from types import FrameType
from typing import Annotated

import httpx
import typer
from sqlalchemy.exc import OperationalError

from voicebot.cli.errors import unreachable
from voicebot.config import Settings
from voicebot.storage.db import make_engine, session_factory, transaction, upgrade
from voicebot.webhooks.delivery import Backoff, deliver_due

apikey_app = typer.Typer(help="API keys for the outcomes API.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Webhook write-back to the creditor.", no_args_is_help=True)


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    migrate: Annotated[bool, typer.Option(help="Run database migrations first.")] = True,
) -> None:
    """Run the outcomes API (OpenAPI docs at /docs)."""
    import uvicorn

    from api.app import create_app

    settings = Settings()
    if migrate:
        try:
            upgrade(settings.database_url)
        except OperationalError as exc:
            raise unreachable(settings.database_url, exc) from exc
    app = create_app(settings)
    # What start-up loaded (modules, the schema, templates) lives as long as the process:
    # frozen out of the collector, a full collection no longer walks it in the middle of a
    # dashboard tick (~190 ms measured at 100k debtors; bench/bench_console.py --freeze-gc).
    gc.freeze()
    # No "server: uvicorn" banner: it tells a scanner which exploits to try.
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)


@apikey_app.command("create")
def create_key(
    name: Annotated[str, typer.Argument(help="Who the key is for, e.g. crm-sync.")],
    role: Annotated[str, typer.Option(help="admin | manager | agent | auditor")] = "auditor",
) -> None:
    """Create a key and print it once; only its hash is stored."""
    from api.security import ApiKeyError, create_api_key

    settings = Settings()
    upgrade(settings.database_url)
    sessions = session_factory(make_engine(settings.database_url))
    try:
        with transaction(sessions) as session:
            row, key = create_api_key(
                session, name=name, role=role, actor="cli", now=datetime.now(UTC)
            )
            key_id = row.id
    except ApiKeyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(f"API key {key_id} {name!r} ({role}) — shown once, store it now:", err=True)
    typer.echo(key)


@webhooks_app.command("deliver")
def deliver(
    once: Annotated[bool, typer.Option(help="Send what is due once, then exit.")] = False,
) -> None:
    """Send the outbox to VOICEBOT_WEBHOOKS__URL, signed with VOICEBOT_WEBHOOKS__SECRET."""
    settings = Settings()
    config = settings.webhooks
    if not config.url or not config.secret:
        typer.echo("error: set VOICEBOT_WEBHOOKS__URL and VOICEBOT_WEBHOOKS__SECRET", err=True)
        raise typer.Exit(code=2)
    sessions = session_factory(make_engine(settings.database_url))
    backoff = Backoff(config.backoff_base_seconds, config.backoff_max_seconds)
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with httpx.Client(timeout=config.timeout_seconds) as client:
        while True:
            report = deliver_due(
                sessions,
                url=config.url,
                secret=config.secret,
                now=datetime.now(UTC),
                http_client=client,
                backoff=backoff,
                limit=config.claim_batch,
            )
            if report.delivered or report.failed:
                typer.echo(
                    f"delivered {len(report.delivered)}, failed {len(report.failed)}", err=True
                )
            if once or stopping:
                return
            if not report.delivered and not report.failed:
                time.sleep(config.poll_seconds)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(apikey_app, name="apikey")
    app.add_typer(webhooks_app, name="webhooks")
