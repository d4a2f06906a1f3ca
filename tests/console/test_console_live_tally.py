"""The live dashboard's incremental tallies equal ``campaign_status`` after every dialer tick."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, timedelta
from pathlib import Path

from console_world import SCRIPTS
from sqlalchemy import delete, select, update

from api.console.dashboard import dashboard_snapshot
from api.console.live_tally import LiveTally
from voicebot.campaigns.lifecycle import launch_campaign
from voicebot.campaigns.portfolio import import_csv
from voicebot.campaigns.status import campaign_status
from voicebot.data import DEFAULT_DIALPLAN
from voicebot.demo.campaign import campaign_day
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.engine.dialer import Dialer
from voicebot.engine.text_runner import ScriptedTextRunner
from voicebot.storage import models as m
from voicebot.storage.db import make_engine, session_factory, transaction

HEADER = (
    "id_cliente,nombre,documento,telefono,saldo,moneda,dias_mora,segmento,obligacion,acreedor\n"
)


def test_incremental_tallies_equal_a_full_recount_at_every_tick(
    db_url: str, tmp_path: Path
) -> None:
    """On SQLite and PostgreSQL (integer division and read consistency differ)."""
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    scripts = list(SCRIPTS.values())
    rows, phone_scripts = [], {}
    for i in range(36):
        phone = f"31{i % 4}55501{i:02d}"
        rows.append(
            f"D{i},Deudor {i},{10_000 + i},{phone},{100_000 * (i + 1)},COP,{10 + i},"
            f"{('tarjeta', 'credito', '')[i % 3]},O{i},Banco Andino\n"
        )
        phone_scripts[f"+57{phone}"] = scripts[i % 4]
    with transaction(sessions) as s:
        campaign = m.Campaign(
            name="tally",
            dialplan="cobranza_es",
            jurisdiction="CO",
            default_region="CO",
            limits={"min_payment": "50000", "max_days_ahead": 20},
            max_concurrent=5,
        )
        s.add(campaign)
        s.flush()
        campaign_id = campaign.id
    report = import_csv(
        sessions, (HEADER + "".join(rows)).encode(), default_region="CO", campaign_id=campaign_id
    )
    assert not report.errors, report.errors
    start = campaign_day(date.today()).astimezone(UTC)
    with transaction(sessions) as s:
        launch_campaign(s, campaign_id=campaign_id, now=start, actor="test")
    plan = load_dialplan(DEFAULT_DIALPLAN)
    runner = ScriptedTextRunner(plan, phone_scripts, clock=lambda: start)
    tracker = LiveTally()
    compared: list[int] = []

    def compare() -> None:
        with sessions() as s:
            live = dashboard_snapshot(s, campaign_id, tracker)["campaign_status"]
            full = campaign_status(s, campaign_id=campaign_id)
        assert live == full
        compared.append(full["kpis"]["attempts"])

    dialer = Dialer(
        sessions,
        runner,
        worker_id="tally",
        clock=lambda: start,
        max_concurrent=5,
        journal_dir=tmp_path / "journal",
        on_result=lambda request, result: compare(),
    )
    compare()
    asyncio.run(dialer.run(campaign_id=campaign_id, until_idle=True))
    compare()
    dialer.close()
    assert compared[0] == 0 and compared[-1] >= 36, compared
    assert len(set(compared)) > 3, compared  # the tallies really grew tick by tick
    tracker.forget(campaign_id)
    compare()  # and a tracker starting from scratch agrees as well
    engine.dispose()


def test_late_commits_and_deletions_take_the_fingerprint_path_and_stay_exact(
    db_url: str, tmp_path: Path
) -> None:
    """An attempt committed long after it ended (outside the recent window), and a finished
    attempt deleted: the live numbers still equal a full recount at once."""
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    rows = "".join(
        f"L{i},Deudor {i},{20_000 + i},31{i % 4}5550{i:03d},{150_000 * (i + 1)},COP,{10 + i},"
        f"tarjeta,O{i},Banco Andino\n"
        for i in range(6)
    )
    with transaction(sessions) as s:
        campaign = m.Campaign(
            name="late",
            dialplan="cobranza_es",
            jurisdiction="CO",
            default_region="CO",
            limits={"min_payment": "50000", "max_days_ahead": 20},
        )
        s.add(campaign)
        s.flush()
        campaign_id = campaign.id
    report = import_csv(
        sessions, (HEADER + rows).encode(), default_region="CO", campaign_id=campaign_id
    )
    assert not report.errors, report.errors
    start = campaign_day(date.today()).astimezone(UTC)
    with transaction(sessions) as s:
        debtors = list(
            s.scalars(
                select(m.CampaignDebtor.debtor_id).where(
                    m.CampaignDebtor.campaign_id == campaign_id
                )
            )
        )
        attempts = [
            m.CallAttempt(campaign_id=campaign_id, debtor_id=d, status="queued", due_at=start)
            for d in debtors
        ]
        s.add_all(attempts)
        s.flush()
        ids = [a.id for a in attempts]
    tracker = LiveTally()

    def finish(attempt_id: int, ended: object, disposition: str) -> None:
        with transaction(sessions) as s:
            s.execute(
                update(m.CallAttempt)
                .where(m.CallAttempt.id == attempt_id)
                .values(status="done", started_at=ended, ended_at=ended, disposition=disposition)
            )

    def compare() -> dict[str, object]:
        with sessions() as s:
            live = dashboard_snapshot(s, campaign_id, tracker)["campaign_status"]
            full = campaign_status(s, campaign_id=campaign_id)
        assert live == full
        return full

    compare()  # the first tick reads every block
    finish(ids[3], start, "NA")
    finish(ids[4], start + timedelta(minutes=5), "BUSY")
    assert compare()["kpis"]["attempts"] == 2  # found among the recent ends
    finish(ids[0], start - timedelta(hours=3), "NA")  # ended long before the newest end
    assert compare()["kpis"]["attempts"] == 3
    finish(ids[5], None, "NA")  # no end recorded at all
    assert compare()["kpis"]["attempts"] == 4
    with transaction(sessions) as s:
        s.execute(delete(m.CallAttempt).where(m.CallAttempt.id == ids[3]))
    finish(ids[1], start + timedelta(minutes=6), "NA")  # same count, other sum
    assert compare()["kpis"]["attempts"] == 4
    engine.dispose()
