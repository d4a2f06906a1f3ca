"""The demo campaign: every synthetic profile ends with the disposition its story implies."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from voicebot.campaigns.demo import run_text_demo
from voicebot.cli import app
from voicebot.dialog.plan import load_dialplan

ROOT = Path(__file__).resolve().parents[2]

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


def test_every_synthetic_profile_gets_its_disposition() -> None:
    plan = load_dialplan(ROOT / "dialplans" / "cobranza_es.yaml")
    calls, kpis = asyncio.run(run_text_demo(plan, debtors=90, today=date(2026, 11, 23), seed=11))
    assert len(calls) == 90
    assert {c.debtor.scenario for c in calls} == set(EXPECTED)
    for call in calls:
        assert call.outcome.disposition.value in EXPECTED[call.debtor.scenario], (
            call.debtor.scenario,
            call.debtor.turns,
            [t.text for t in call.outcome.transcript],
        )
        if call.outcome.disclosure_made:
            assert call.outcome.right_party_contacted
    assert kpis.attempts == 90
    assert kpis.promises == sum(1 for c in calls if c.outcome.promise is not None)
    assert kpis.opt_outs == sum(1 for c in calls if c.debtor.scenario == "opt_out")
    assert set(kpis.promised_amount) <= {"COP", "CLP", "MXN", "PEN", "USD"}


def test_demo_command_prints_kpis_and_says_it_runs_on_text() -> None:
    result = CliRunner().invoke(app, ["demo", "--debtors", "15", "--today", "2026-11-23", "--json"])
    assert result.exit_code == 0, result.output
    assert "text" in result.output and "channel" in result.output
    assert '"attempts": 15' in result.output
