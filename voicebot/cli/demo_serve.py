"""``voicebot demo --serve``: the demo campaign in real time with the console watching it.

One process, one event loop: uvicorn serves the API and the console on loopback while
the dialer works through the demo portfolio; SIGINT or SIGTERM stops both (the dialer's
calls are cancelled, the server drains) and the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Callable, Coroutine, Generator
from datetime import UTC, datetime
from typing import Any

import typer
import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from voicebot.config import Settings
from voicebot.storage.db import transaction

CONSOLE_KEY_NAME = "demo-console"


class _Server(uvicorn.Server):
    """Signals are this command's, not uvicorn's: it stops the dialer as well."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def listening_socket(host: str, port: int) -> socket.socket:
    """Bound before the server starts, so ``--port 0`` gets a free port to print."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def serve_demo(
    run: Callable[[Callable[[str, sessionmaker[Session]], Coroutine[Any, Any, None]]], Any],
    *,
    host: str,
    port: int,
    settings: Settings,
) -> None:
    """``run(on_ready)`` is the demo (``run_demo`` with its options); the console starts in
    ``on_ready`` on the demo's database, with a one-time manager key printed once."""
    asyncio.run(_serve(run, host=host, port=port, settings=settings))


async def _serve(
    run: Callable[[Callable[[str, sessionmaker[Session]], Coroutine[Any, Any, None]]], Any],
    *,
    host: str,
    port: int,
    settings: Settings,
) -> None:
    from api.app import create_app
    from api.security import MANAGER, create_api_key

    sock = listening_socket(host, port)
    servers: list[_Server] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    async def on_ready(url: str, sessions: sessionmaker[Session]) -> None:
        with transaction(sessions) as s:
            _, key = create_api_key(
                s, name=CONSOLE_KEY_NAME, role=MANAGER, actor="demo", now=datetime.now(UTC)
            )
        app = create_app(settings.model_copy(update={"database_url": url}))
        server = _Server(
            uvicorn.Config(app, log_level="warning", lifespan="on", server_header=False)
        )
        servers.append(server)
        serving.append(asyncio.create_task(server.serve(sockets=[sock])))
        while not server.started:
            if serving[0].done():
                serving[0].result()  # the server's own error, if it could not start
            await asyncio.sleep(0.05)
        shown = host if ":" not in host else f"[{host}]"
        typer.echo(f"Console: http://{shown}:{sock.getsockname()[1]}/console/")
        typer.echo(f"Manager key (shown once, sign in with it): {key}")
        typer.echo("The campaign runs in real time; Ctrl-C stops the demo and the console.")

    serving: list[asyncio.Task[None]] = []
    demo = asyncio.create_task(run(on_ready))
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({demo, stopped}, return_when=asyncio.FIRST_COMPLETED)
    if demo.done():
        demo.result()  # the demo's own error, if any
        typer.echo("The demo campaign finished; the console stays up until Ctrl-C.")
        await stopped
    else:
        demo.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await demo
    for server in servers:
        server.should_exit = True
    if serving:
        await serving[0]
    sock.close()
    typer.echo("Stopped.")
