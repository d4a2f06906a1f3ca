"""A warm transfer the dialog asks for is queued for the agent desk at once, and settled at the end."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voicebot.campaigns.lifecycle import launch_campaign
from voicebot.campaigns.portfolio import import_csv
from voicebot.data import DEFAULT_DIALPLAN
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.engine.dialer import Dialer
from voicebot.engine.text_runner import ScriptedTextRunner
from voicebot.storage import models as m

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("America/Bogota"))
CSV = (
    "id_cliente;nombre;documento;celular;saldo;moneda;acreedor;zona_horaria\n"
    "T1;Ana Ruiz;52111234;3101230001;900.000;COP;Banco Andino;America/Bogota\n"
    "T2;Luis Mora;79001234;3101230002;500.000;COP;Banco Andino;America/Bogota\n"
)


def test_transfers_reach_the_desk_with_their_transcript(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        campaign = m.Campaign(
            name="t", dialplan="cobranza_es", jurisdiction="CO", default_region="CO"
        )
        s.add(campaign)
        s.flush()
        campaign_id = campaign.id
    import_csv(sessions, CSV, default_region="CO", campaign_id=campaign_id)
    with sessions.begin() as s:
        launch_campaign(s, campaign_id=campaign_id, now=NOW, actor="test")
    scripts: dict[str, tuple[str, ...]] = {
        "+573101230001": ("sí, soy yo", "1234", "quiero hablar con un asesor", "<agente>"),
        "+573101230002": ("páseme con una persona", "<sin agente>"),
    }
    plan = load_dialplan(DEFAULT_DIALPLAN)
    dialer = Dialer(
        sessions, ScriptedTextRunner(plan, scripts, clock=lambda: NOW), clock=lambda: NOW
    )
    asyncio.run(dialer.run(campaign_id=campaign_id, until_idle=True))
    with sessions() as s:
        rows = {
            s.get_one(m.Debtor, t.debtor_id).external_id: t
            for t in s.scalars(select(m.TransferRequest)).all()
        }
        assert set(rows) == {"T1", "T2"}
        assert (rows["T1"].status, rows["T2"].status) == ("accepted", "failed")
        assert rows["T1"].reason == rows["T2"].reason == "agent_request"
        turns = rows["T1"].context["turns"]
        assert turns[0]["speaker"] == "bot"
        assert any(t["text"] == "quiero hablar con un asesor" for t in turns)
        assert "verificado" in rows["T1"].context["summary"]
        audited = s.scalars(
            select(m.AuditEntry.attempt_id).where(m.AuditEntry.action == "transfer_requested")
        ).all()
        assert sorted(audited) == sorted(t.attempt_id for t in rows.values())
