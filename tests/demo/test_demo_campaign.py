"""The demo campaign runs the real pipeline: import → launch → compliance → dial → outcomes → KPIs."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from voicebot.cli import app
from voicebot.data import DEFAULT_DIALPLAN
from voicebot.demo.campaign import campaign_day, run_demo
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.telephony.carrier import DialFailure

EXPECTED = {
    "promise_full": {"PTP"},
    "promise_partial_counter": {"PTP", "PPTP"},
    "cannot_pay_plan": {"PTP"},
    "refuses": {"RTP"},
    "already_paid": {"PAID"},
    "dispute": {"DISP"},
    "wrong_number": {"WPC"},
    "third_party": {"TPC"},
    "callback": {"CB"},
    "agent_request": {"XFER", "CB"},
    "opt_out": {"DNC"},
    "silence": {"DROP"},
    "hangs_up": {"DROP"},
}


def test_every_synthetic_profile_gets_its_disposition(tmp_path: Path) -> None:
    plan = load_dialplan(DEFAULT_DIALPLAN)
    result = asyncio.run(
        run_demo(
            plan, database=tmp_path / "demo.sqlite3", debtors=60, today=date(2026, 11, 23), seed=11
        )
    )
    assert result.calls == 60
    assert {d.scenario for d, _ in result.results} == set(EXPECTED)
    failures = 0
    for debtor, outcome in result.results:
        if isinstance(outcome, DialFailure):
            failures += 1
            assert outcome.disposition.value in {"NA", "BUSY"}
            continue
        assert outcome.disposition.value in EXPECTED[debtor.scenario], (
            debtor.scenario,
            debtor.turns,
        )
        if outcome.disclosure_made:
            assert outcome.right_party_contacted
    assert failures > 0
    assert [s["campaign"] for s in result.statuses] == [
        "demo-co",
        "demo-cl",
        "demo-mx",
        "demo-pe",
        "demo-us",
    ]
    assert sum(s["kpis"]["attempts"] for s in result.statuses) == 60
    promises = sum(s["kpis"]["promises"] for s in result.statuses)
    assert promises == sum(
        1 for _, o in result.results if not isinstance(o, DialFailure) and o.promise
    )
    for status in result.statuses:
        assert (
            status["attempts_by_status"].get("queued", 0) >= 1
        )  # retries and follow-ups are waiting
    # After the calls: reminders by text, payments imported, promises kept or broken.
    kpis = [s["kpis"] for s in result.statuses]
    follow_ups = result.follow_ups
    assert sum(k["messages_sent"] for k in kpis) == len(follow_ups.texts.sent) > 0
    assert all(
        "Para no recibir más mensajes responda BAJA." in t.body for t in follow_ups.texts.sent
    )
    kept = sum(k["promises_kept"] for k in kpis)
    broken = sum(k["promises_broken"] for k in kpis)
    assert (kept, broken) == (follow_ups.kept, follow_ups.broken) and kept > 0 and broken > 0
    assert kept + broken == promises  # every promise date passed in the demo's days
    assert any(k["recovered_amount"] for k in kpis)
    # A broken promise puts its debtor back in the hopper (its check call, or a new attempt).
    with sqlite3.connect(tmp_path / "demo.sqlite3") as db:
        waiting = db.execute(
            "SELECT count(DISTINCT p.id) FROM promises p JOIN call_attempts a"
            " ON a.debtor_id = p.debtor_id AND a.status = 'queued'"
            " AND a.kind IN ('broken_promise', 'check') WHERE p.status = 'broken'"
        ).fetchone()[0]
    assert waiting == broken


def test_the_campaign_day_skips_weekends_and_holidays() -> None:
    assert campaign_day(date(2026, 11, 28)).date() == date(2026, 11, 30)  # Saturday → Monday
    # 8 Dec: Colombia and Chile (Inmaculada); 9 Dec: Peru (Batalla de Ayacucho)
    assert campaign_day(date(2026, 12, 8)).date() == date(2026, 12, 10)
    assert campaign_day(date(2026, 12, 25)).date() == date(2026, 12, 28)


def test_demo_command_prints_kpis_and_says_it_runs_on_text(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "demo",
            "--debtors",
            "15",
            "--today",
            "2026-11-23",
            "--database",
            str(tmp_path / "d.sqlite3"),
        ],
        env={"COLUMNS": "200"},  # wide enough for one column per country
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # the console wraps long lines
    assert "runs on the simulated line's text channel" in text
    assert "promise rate" in text and "demo-co" in text
