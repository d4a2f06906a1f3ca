"""Facts compliance gets from the store, through the dialer: line type and consent from the
portfolio, contacts a human picked up (DROP), contacts made elsewhere; then the audit replay.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voicebot.campaigns.compliance_audit import audit_campaign
from voicebot.campaigns.lifecycle import launch_campaign
from voicebot.campaigns.outside_contacts import record, validate
from voicebot.campaigns.portfolio import import_csv
from voicebot.data import DEFAULT_DIALPLAN
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.engine.dialer import Dialer
from voicebot.engine.text_runner import ScriptedTextRunner
from voicebot.storage import models as m
from voicebot.storage.repositories import append_audit

ROOT = Path(__file__).resolve().parents[2]
BOGOTA = ZoneInfo("America/Bogota")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
PLAN = load_dialplan(DEFAULT_DIALPLAN)


def _campaign(sessions: sessionmaker[Session], code: str, csv: str) -> int:
    with sessions.begin() as s:
        campaign = m.Campaign(
            name=f"c-{code}", dialplan="cobranza_es", jurisdiction=code, default_region=code
        )
        s.add(campaign)
        s.flush()
        campaign_id = campaign.id
    report = import_csv(sessions, csv, default_region=code, campaign_id=campaign_id)
    assert report.errors == []
    return campaign_id


def _run(
    sessions: sessionmaker[Session],
    campaign_id: int,
    scripts: dict[str, tuple[str, ...]],
    start: datetime,
    steps: int,
) -> Dialer:
    clock = [start]
    runner = ScriptedTextRunner(PLAN, scripts, clock=lambda: clock[0])
    dialer = Dialer(sessions, runner, worker_id="w", clock=lambda: clock[0])
    with sessions.begin() as s:
        launch_campaign(s, campaign_id=campaign_id, now=start, actor="manager")

    async def go() -> None:
        for _ in range(steps):
            await dialer.tick(campaign_id=campaign_id)
            await dialer.drain()
            clock[0] += timedelta(minutes=15)

    asyncio.run(go())
    return dialer


def _attempts(sessions: sessionmaker[Session], external_id: str) -> list[m.CallAttempt]:
    with sessions() as s:
        return list(
            s.scalars(
                select(m.CallAttempt)
                .join(m.Debtor, m.Debtor.id == m.CallAttempt.debtor_id)
                .where(m.Debtor.external_id == external_id)
                .order_by(m.CallAttempt.id)
            )
        )


def test_a_us_number_without_line_type_or_consent_is_never_dialled(
    sessions: sessionmaker[Session],
) -> None:
    """FCC 24-17: (415) 555-2671 imported as it is; only the row that says fijo is dialled."""
    csv = (
        "id_cliente,nombre,documento,telefono,saldo,acreedor,zona_horaria,tipo_linea\n"
        "U1,Ann Lee,1111,(415) 555-2671,900,Liberty Card,America/Los_Angeles,\n"
        "U2,Bo Diaz,2222,(415) 555-2672,900,Liberty Card,America/Los_Angeles,fijo\n"
    )
    campaign_id = _campaign(sessions, "US", csv)
    start = datetime(2026, 11, 24, 10, 0, tzinfo=LOS_ANGELES)
    scripts = {"+14155552671": ("<colgar>",), "+14155552672": ("<colgar>",)}
    dialer = _run(sessions, campaign_id, scripts, start, steps=3)
    (refused,) = _attempts(sessions, "U1")
    assert (refused.status, refused.started_at) == ("cancelled", None)
    assert refused.error == "refused by compliance: us_consent_mobile"
    dialled = _attempts(sessions, "U2")[0]
    assert dialled.started_at is not None
    assert dialer.stats.refusals_by_rule == {"us_consent_mobile": 1}
    # 47 CFR 64.1200(b)(2): the automated opt-out is announced at the outset, although this
    # campaign's settings never asked for it.
    with sessions() as s:
        record = s.scalars(select(m.CallRecord).where(m.CallRecord.attempt_id == dialled.id)).one()
    opening = []
    for turn in record.transcript:
        if turn["speaker"] != "bot":
            break
        opening.append(turn["text"])
    assert "¿Hablo con Bo Diaz?" in opening[0] and "«no me llame»" in opening[1]
    # The audit judges the dial on the facts it was allowed on: the line reclassified later
    # (now of unknown kind, which would need consent) does not make that dial unlawful.
    with sessions.begin() as s:
        s.get_one(m.Phone, dialled.phone_id).kind = "unknown"
    with sessions() as s:
        report = audit_campaign(s, campaign_id)
    assert (len(report.dials), report.violations) == (1, [])


def test_a_debtor_who_hangs_up_is_not_called_again_the_same_day_in_colombia(
    sessions: sessionmaker[Session],
) -> None:
    """Ley 2300 art. 3: the DROP retry an hour later waits for the next day."""
    csv = (
        "id_cliente,nombre,documento,celular,saldo,moneda,acreedor,zona_horaria\n"
        "C1,Ana Pérez,52111234,3101234567,1.200.000,COP,Banco Andino,America/Bogota\n"
    )
    campaign_id = _campaign(sessions, "CO", csv)
    start = datetime(2026, 11, 24, 9, 0, tzinfo=BOGOTA)
    _run(sessions, campaign_id, {"+573101234567": ("sí", "<colgar>")}, start, steps=12)
    first, retry = _attempts(sessions, "C1")
    assert first.disposition == "DROP"
    assert retry.started_at is None and retry.status == "queued"
    assert retry.due_at == datetime(2026, 11, 25, 7, 0, tzinfo=BOGOTA)
    with sessions() as s:
        report = audit_campaign(s, campaign_id)
    assert (len(report.dials), report.violations) == (1, [])


def test_a_contact_recorded_elsewhere_counts_and_the_audit_names_a_forced_dial(
    sessions: sessionmaker[Session],
) -> None:
    csv = (
        "id_cliente,nombre,documento,celular,saldo,moneda,acreedor,zona_horaria\n"
        "C2,Luis Gómez,79123456,3151112233,500.000,COP,Banco Andino,America/Bogota\n"
    )
    campaign_id = _campaign(sessions, "CO", csv)
    start = datetime(2026, 11, 24, 11, 0, tzinfo=BOGOTA)
    with sessions.begin() as s:
        debtor_id = s.scalars(select(m.Debtor.id).where(m.Debtor.external_id == "C2")).one()
        contact = validate(start - timedelta(hours=2), "agent", "conversation", "crm")
        record(s, debtor_id=debtor_id, contact=contact, actor="test")
        _, again = record(s, debtor_id=debtor_id, contact=contact, actor="test")
        assert not again  # the same report twice is one contact
    dialer = _run(sessions, campaign_id, {"+573151112233": ("<colgar>",)}, start, steps=1)
    assert dialer.stats.refusals_by_rule == {"co_one_contact_per_day": 1}
    (waiting,) = _attempts(sessions, "C2")
    assert waiting.due_at == datetime(2026, 11, 25, 7, 0, tzinfo=BOGOTA)
    # A dial forced past the rules (as a broken worker would): same day, logged as allowed.
    with sessions.begin() as s:
        attempt = s.get_one(m.CallAttempt, waiting.id)
        attempt.status, attempt.started_at = "done", start + timedelta(hours=1)
        append_audit(
            s,
            actor="rogue",
            action="dial_allowed",
            debtor_id=debtor_id,
            campaign_id=campaign_id,
            attempt_id=attempt.id,
            at=start + timedelta(hours=1),
        )
        sunday = m.CallAttempt(
            campaign_id=campaign_id,
            debtor_id=debtor_id,
            phone_id=attempt.phone_id,
            status="done",
            started_at=datetime(2026, 11, 29, 10, 0, tzinfo=BOGOTA),  # never logged
        )
        s.add(sunday)
        s.flush()
        sunday_id = sunday.id
    with sessions() as s:
        report = audit_campaign(s, campaign_id)
    found = {(d.attempt_id, d.rule) for d in report.violations}
    assert found == {(waiting.id, "co_one_contact_per_day"), (sunday_id, "co_closed_day")}
    assert report.by_rule() == {"co_closed_day": 1, "co_one_contact_per_day": 1}
    assert "Ley 2300" in report.violations[0].allowed_by
