"""A populated service for API tests: campaign, portfolio and real text-mode calls, all real."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.security import create_api_key
from voicebot.config import ApiConfig, Settings, SpeechConfig
from voicebot.data import DEFAULT_DIALPLAN
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.engine.call_loop import run_call
from voicebot.storage import models as m
from voicebot.storage.db import make_engine, session_factory, transaction
from voicebot.storage.repositories import call_context, record_outcome
from voicebot.telephony.text_line import SimulatedClock, TextLine

TODAY = date(2026, 11, 23)
CALL_START = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)

PORTFOLIO_CSV = """id_cliente,nombre,documento,telefono,saldo,moneda,dias_mora,segmento,obligacion,acreedor
C1,Ana Pérez Gómez,52.111.234,3101234567,"900.000",COP,40,tarjeta,T1,Banco Andino
C2,Bruno Díaz,80.222.345,3112345678,"1.200.000",COP,75,credito,T2,Banco Andino
C3,Carla Ríos,41.333.456,3123456789,"500.000",COP,20,tarjeta,T3,Banco Andino
C4,Diego Mora,70.444.567,3134567890,"2.000.000",COP,120,credito,T4,Banco Andino
"""

# What each debtor says on the phone; the real dialog turns it into the disposition.
SCRIPTS = {
    "C1": ["sí, soy yo", "1234", "pago todo el viernes", "sí"],  # PTP
    "C2": ["sí, soy yo", "2345", "quiero hablar con un asesor"],  # transfer requested
    "C3": ["sí, soy yo", "3456", "no me vuelvan a llamar"],  # DNC
    "C4": ["no, número equivocado"],  # WPC
}


@dataclass
class World:
    url: str
    client: TestClient
    sessions: sessionmaker[Session]
    settings: Settings
    keys: dict[str, str] = field(default_factory=dict)
    campaign_id: int = 0
    calls: dict[str, int] = field(default_factory=dict)  # external id -> call id
    debtors: dict[str, int] = field(default_factory=dict)  # external id -> debtor id
    transfer_id: int = 0

    def auth(self, role: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[role]}


def make_settings(url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": url,
        "speech": SpeechConfig(language="ko"),  # the one real Vosk model this machine carries
        "api": ApiConfig(),
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


def open_world(url: str, settings: Settings | None = None) -> Iterator[World]:
    settings = settings or make_settings(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    keys = {}
    with transaction(sessions) as s:
        for role in ("admin", "manager", "auditor"):
            keys[role] = create_api_key(
                s, name=f"{role}-key", role=role, actor="test", now=datetime.now(UTC)
            )[1]
    with TestClient(create_app(settings)) as client:
        world = World(url, client, sessions, settings, keys)
        agent = client.post(
            "/agents",
            json={"name": "agente-1", "sip_uri": "sip:1@pbx"},
            headers=world.auth("admin"),
        )
        assert agent.status_code == 201, agent.text
        world.keys["agent"] = agent.json()["key"]
        other = client.post("/agents", json={"name": "agente-2"}, headers=world.auth("admin"))
        world.keys["other_agent"] = other.json()["key"]
        yield world
    engine.dispose()


def populate(world: World) -> World:
    """Create a campaign, import the portfolio, launch, and play each debtor's call."""
    client = world.client
    created = client.post(
        "/campaigns",
        json={
            "name": "mora-temprana",
            "dialplan": "cobranza_es",
            "jurisdiction": "CO",
            "default_region": "CO",
            "company": "Gestión Integral de Cartera",
            "limits": {"min_payment": 400000, "max_days_ahead": 20},
        },
        headers=world.auth("manager"),
    )
    assert created.status_code == 201, created.text
    world.campaign_id = created.json()["id"]
    upload = client.post(
        "/portfolios/csv",
        files={"file": ("cartera.csv", PORTFOLIO_CSV.encode(), "text/csv")},
        data={"default_region": "CO", "campaign_id": str(world.campaign_id)},
        headers=world.auth("manager"),
    )
    assert upload.status_code == 200, upload.text
    launched = client.post(f"/campaigns/{world.campaign_id}/launch", headers=world.auth("manager"))
    assert launched.json()["attempts_queued"] == 4, launched.text
    plan = load_dialplan(DEFAULT_DIALPLAN)
    with world.sessions() as s:
        attempts = s.execute(
            select(m.CallAttempt.id, m.Debtor.external_id, m.Debtor.id).join(
                m.Debtor, m.Debtor.id == m.CallAttempt.debtor_id
            )
        ).all()
    for attempt_id, external_id, debtor_id in attempts:
        world.debtors[external_id] = debtor_id
        with transaction(world.sessions) as s:
            s.get_one(m.CallAttempt, attempt_id).status = "in_call"
            ctx = call_context(s, attempt_id=attempt_id, today=TODAY)
        clock = SimulatedClock(CALL_START)
        line = TextLine.scripted(SCRIPTS[external_id], clock=clock)
        outcome = asyncio.run(run_call(plan, ctx, line, clock=clock))
        with transaction(world.sessions) as s:
            record = record_outcome(s, attempt_id=attempt_id, outcome=outcome, actor="worker-test")
            s.flush()
            world.calls[external_id] = record.id
            if outcome.transfer_reason:
                transfer = m.TransferRequest(
                    attempt_id=attempt_id,
                    debtor_id=debtor_id,
                    reason=outcome.transfer_reason,
                    context={"summary": "pide hablar con un asesor"},
                )
                s.add(transfer)
                s.flush()
                world.transfer_id = transfer.id
    return world
