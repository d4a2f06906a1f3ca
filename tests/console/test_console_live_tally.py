"""The live dashboard's incremental tallies equal ``campaign_status`` after every dialer tick."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from console_world import SCRIPTS
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

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
from voicebot.followups.payments import keep
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
    attempt deleted: with a full recount every tick the live numbers equal
    ``campaign_status`` at once (the fingerprint path finds them)."""
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    rows = "".join(
        f"L{i},Deudor {i},{20_000 + i},31{i % 4}5550{i:03d},{150_000 * (i + 1)},COP,{10 + i},"
        f"tarjeta,O{i},Banco Andino\n"
        for i in range(6)
    )
    campaign_id, ids, start = _six_queued_attempts(sessions, rows)
    tracker = LiveTally(reconcile_every=1)

    def finish(attempt_id: int, ended: object, disposition: str) -> None:
        _finish(sessions, attempt_id, ended, disposition)

    def compare() -> dict[str, Any]:
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


def test_usual_ticks_show_what_they_can_see_at_once_and_the_recount_the_rest(
    db_url: str,
) -> None:
    """Between full recounts a tick reads only what moved: an attempt finished, one created,
    one cancelled, a promise made then kept, a payment, a text sent, a refused dial all
    show at once. A late commit shows at the next recount of the cycle, or at once after
    ``refresh`` (what the console calls when it changed the campaign)."""
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    rows = "".join(
        f"U{i},Deudor {i},{30_000 + i},31{i % 4}5551{i:03d},{150_000 * (i + 1)},COP,{10 + i},"
        f"{('tarjeta', 'credito')[i % 2]},O{i},Banco Andino\n"
        for i in range(6)
    )
    campaign_id, ids, start = _six_queued_attempts(sessions, rows)
    tracker = LiveTally(reconcile_every=1000)  # only the first tick recounts

    def compare() -> dict[str, Any]:
        with sessions() as s:
            live = dashboard_snapshot(s, campaign_id, tracker)["campaign_status"]
            full = campaign_status(s, campaign_id=campaign_id)
        assert live == full
        return full

    compare()
    with transaction(sessions) as s:
        debtor_of = dict(
            s.execute(
                select(m.CallAttempt.id, m.CallAttempt.debtor_id).where(m.CallAttempt.id.in_(ids))
            ).all()
        )
    paying = debtor_of[ids[0]]
    _finish(sessions, ids[0], start, "PTP")
    with transaction(sessions) as s:
        promise = m.PromiseToPay(
            debtor_id=paying,
            campaign_id=campaign_id,
            attempt_id=ids[0],
            amount=Decimal("80000"),
            currency="COP",
            due_date=start.date() + timedelta(days=3),
        )
        s.add(promise)
        s.add(m.CallAttempt(campaign_id=campaign_id, debtor_id=paying, kind="check", due_at=start))
        s.execute(
            update(m.CallAttempt).where(m.CallAttempt.id == ids[2]).values(status="cancelled")
        )
        s.add(
            m.AuditEntry(
                actor="test",
                action="dial_refused",
                campaign_id=campaign_id,
                debtor_id=debtor_of[ids[5]],
                rule="calling_hours",
            )
        )
        s.flush()
        promise_id = promise.id
    full = compare()
    assert full["attempts_by_status"] == {"done": 1, "queued": 5, "cancelled": 1}
    assert full["kpis"]["promised_amount"] == {"COP": 80000.0}, full["kpis"]
    assert full["refused_by_rule"] == {"calling_hours": 1}
    with transaction(sessions) as s:
        # What the payments import and the API do: kept, audited, its calls canceled.
        keep(s, s.get_one(m.PromiseToPay, promise_id), paid_on=start.date(), actor="t", now=start)
    assert compare()["kpis"]["promises_kept"] == 1
    with transaction(sessions) as s:
        debt = s.scalars(select(m.Debt.id).where(m.Debt.debtor_id == paying)).first()
        assert debt is not None
        s.add(
            m.Payment(
                external_id="P-1",
                debt_id=debt,
                debtor_id=paying,
                promise_id=promise_id,
                amount=Decimal("80000"),
                currency="COP",
                paid_on=start.date(),
            )
        )
        s.add(
            m.Message(
                idempotency_key="link-1",
                debtor_id=paying,
                campaign_id=campaign_id,
                promise_id=promise_id,
                kind="payment_link",
                channel="sms",
                to="+573105550100",
                body="",
                status="pending",
            )
        )
    full = compare()
    assert full["kpis"]["recovered_amount"] == {"COP": 80000.0}
    with transaction(sessions) as s:
        s.execute(update(m.Message).where(m.Message.promise_id == promise_id).values(status="sent"))
    assert compare()["kpis"]["messages_sent"] == 1

    _finish(sessions, ids[1], start - timedelta(hours=3), "NA")  # outside the recent ends
    tracker.refresh(campaign_id)
    assert compare()["kpis"]["attempts"] == 2

    tracker = cycle = LiveTally(reconcile_every=3)
    compare()  # tick 0: a recount
    _finish(sessions, ids[3], start - timedelta(hours=4), "NA")
    with sessions() as s:
        full = campaign_status(s, campaign_id=campaign_id)
        seen = [dashboard_snapshot(s, campaign_id, cycle)["campaign_status"] for _ in range(3)]
    assert seen[-1] == full  # tick 3: the next recount
    engine.dispose()


def _six_queued_attempts(
    sessions: sessionmaker[Session], rows: str
) -> tuple[int, list[int], datetime]:
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
    return campaign_id, ids, start


def _finish(
    sessions: sessionmaker[Session], attempt_id: int, ended: object, disposition: str
) -> None:
    with transaction(sessions) as s:
        s.execute(
            update(m.CallAttempt)
            .where(m.CallAttempt.id == attempt_id)
            .values(status="done", started_at=ended, ended_at=ended, disposition=disposition)
        )
