"""A real service for the console's browser tests: uvicorn on a free loopback port, SQLite,
API keys per role, an agent, and the real dialer on the simulated carrier's text line."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.security import AGENT, create_api_key
from voicebot.actions import Action, Transfer
from voicebot.config import ApiConfig, RecordingsConfig, Settings, SpeechConfig
from voicebot.data import DEFAULT_DIALPLAN
from voicebot.demo.campaign import campaign_day
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.engine.dialer import CallResult, Dialer, DialRequest
from voicebot.engine.text_runner import ScriptedTextRunner
from voicebot.storage import models as m
from voicebot.storage.db import make_engine, session_factory, transaction, upgrade

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CURSOR_SECRET = "console-test-secret"

GOOD_ROWS = """id_cliente,nombre,documento,telefono,saldo,moneda,dias_mora,segmento,obligacion,acreedor
C1,Ana Pérez Gómez,52.111.234,3101234567,"900.000",COP,40,tarjeta,T1,Banco Andino
C2,Bruno Díaz,80.222.345,3112345678,"1.200.000",COP,75,credito,T2,Banco Andino
C3,Carla Ríos,41.333.456,3123456789,"500.000",COP,20,tarjeta,T3,Banco Andino
C4,Diego Mora,70.444.567,3134567890,"2.000.000",COP,120,credito,T4,Banco Andino
"""
BAD_ROWS = """C5,Elena Soto,30.555.678,12,"300.000",COP,10,tarjeta,T5,Banco Andino
C6,Fabio Gil,20.666.789,3156789012,"mucho",COP,15,tarjeta,T6,Banco Andino
"""
# What each debtor says on the phone; the real dialog turns it into the disposition.
SCRIPTS = {
    "+573101234567": ("sí, soy yo", "1234", "pago todo el viernes", "sí"),  # PTP
    "+573112345678": ("sí, soy yo", "2345", "quiero hablar con un asesor"),  # transfer
    "+573123456789": ("sí, soy yo", "3456", "no me vuelvan a llamar"),  # DNC
    "+573134567890": ("no, número equivocado",),  # WPC
}


@dataclass
class ConsoleWorld:
    url: str
    base: str
    sessions: sessionmaker[Session]
    settings: Settings
    keys: dict[str, str] = field(default_factory=dict)


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self.ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


def open_world(tmp: Path) -> Iterator[ConsoleWorld]:
    url = f"sqlite:///{tmp / 'console.sqlite3'}"
    upgrade(url)
    settings = Settings(
        database_url=url,
        speech=SpeechConfig(language="ko"),
        api=ApiConfig(
            cursor_secret=CURSOR_SECRET, console_tick_seconds=0.2, console_desk_tick_seconds=0.1
        ),
        recordings=RecordingsConfig(dir=tmp / "recordings"),
    )  # type: ignore[call-arg]
    engine = make_engine(url)
    sessions = session_factory(engine)
    keys = {}
    now = datetime.now(UTC)
    with transaction(sessions) as s:
        for role in ("admin", "manager", "auditor"):
            keys[role] = create_api_key(s, name=f"{role}-key", role=role, actor="test", now=now)[1]
        row, keys["agent"] = create_api_key(s, name="agente-1", role=AGENT, actor="test", now=now)
        s.add(m.Agent(name="agente-1", sip_uri="sip:1@pbx", api_key_id=row.id))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    ready = threading.Event()
    server = _Server(
        uvicorn.Config(create_app(settings), log_level="warning", lifespan="on"), ready
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    assert ready.wait(60), "the console server did not start"
    try:
        yield ConsoleWorld(url, f"http://127.0.0.1:{port}", sessions, settings, keys)
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
        engine.dispose()


class HoldingRunner:
    """The scripted carrier, except that a debtor who asks for an agent stays on hold until
    ``released`` is set: the line a warm transfer really waits on."""

    def __init__(self, inner: ScriptedTextRunner) -> None:
        self.inner = inner
        self.queued = threading.Event()
        self.released = threading.Event()

    async def run(self, request: DialRequest) -> CallResult:
        original = request.on_action

        async def sink(action: Action) -> None:
            if original is not None:
                await original(action)
            if isinstance(action, Transfer):
                self.queued.set()
                await asyncio.to_thread(self.released.wait, 60)

        held = DialRequest(request.attempt_id, request.phone, request.context, sink, request.clock)
        return await self.inner.run(held)


def dialer_thread(
    world: ConsoleWorld, campaign_id: int, tmp: Path, *, hold: bool = False
) -> tuple[threading.Thread, HoldingRunner]:
    """The real dialer working through the campaign on the simulated carrier, in its own
    thread (its own event loop), on a working day at 10:00 Bogotá so the law allows dials."""
    start = campaign_day(date.today()).astimezone(UTC)
    plan = load_dialplan(DEFAULT_DIALPLAN)
    runner = HoldingRunner(ScriptedTextRunner(plan, SCRIPTS, clock=lambda: start))
    if not hold:
        runner.released.set()
    dialer = Dialer(
        world.sessions,
        runner,
        worker_id="console-test",
        clock=lambda: start,
        journal_dir=tmp / "journal",
    )

    def work() -> None:
        asyncio.run(dialer.run(campaign_id=campaign_id, until_idle=True, poll_s=0.05))
        dialer.close()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread, runner
