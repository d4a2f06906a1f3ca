"""Status KPIs aggregated in SQL agree with the KPIs computed call by call."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import pytest

from voicebot.campaigns.kpis import AttemptResult, compute_kpis
from voicebot.data import DEFAULT_DIALPLAN
from voicebot.demo.campaign import run_demo
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.domain.outcome import CallOutcome
from voicebot.telephony.carrier import DialFailure


def test_sql_status_matches_per_call_kpis(tmp_path: Path) -> None:
    plan = load_dialplan(DEFAULT_DIALPLAN)
    result = asyncio.run(
        run_demo(
            plan, database=tmp_path / "s.sqlite3", debtors=50, today=date(2026, 11, 23), seed=5
        )
    )
    for status in result.statuses:
        country = status["campaign"].split("-")[1].upper()
        calls = [(d, o) for d, o in result.results if d.country == country]
        expected = compute_kpis(
            [_result(d.external_id, o) for d, o in calls], debtors_in_campaign=len(calls)
        ).to_json()
        got = status["kpis"]
        for key in (
            "attempts",
            "contacts",
            "right_party_contacts",
            "promises",
            "opt_outs",
            "transfers",
            "disputes",
            "debtors_attempted",
            "by_disposition",
        ):
            assert got[key] == expected[key], (country, key)
        assert got["promised_amount"] == pytest.approx(expected["promised_amount"])
        assert got["average_handling_seconds"] == pytest.approx(
            expected["average_handling_seconds"], abs=0.2
        )
        assert sum(s["attempts"] for s in status["by_segment"].values()) == got["attempts"]


def _result(debtor_id: str, outcome: CallOutcome | DialFailure) -> AttemptResult:
    if isinstance(outcome, DialFailure):
        return AttemptResult(disposition=outcome.disposition, debtor_id=debtor_id)
    promise = outcome.promise
    return AttemptResult(
        disposition=outcome.disposition,
        right_party=outcome.right_party_contacted,
        promised_amount=promise.amount * promise.instalments if promise else None,
        currency=promise.currency if promise else "",
        opt_out=outcome.opt_out,
        transferred=outcome.transfer_reason is not None,
        handling_seconds=(outcome.ended_at - outcome.started_at).total_seconds(),
        debtor_id=debtor_id,
    )
