"""``voicebot compliance check`` / ``audit`` and ``voicebot contacts import``, as officers run them."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from voicebot.cli import app
from voicebot.data import DEFAULT_DIALPLAN
from voicebot.demo.campaign import run_demo
from voicebot.dialog.plan_loader import load_dialplan

ROOT = Path(__file__).resolve().parents[2]
DEBTOR = ROOT / "examples" / "debtor.json"
run = CliRunner().invoke


def ask(*args: str) -> dict[str, object]:
    result = run(app, ["compliance", "check", *args])
    assert result.exit_code == 0, result.output
    answer: dict[str, object] = json.loads(result.stdout)
    assert set(answer) >= {"allowed", "rule", "reason", "next_allowed_at", "timezone"}
    return answer


def test_check_answers_in_json_and_exits_0_whether_allowed_or_refused(tmp_path: Path) -> None:
    allowed = ask("--debtor", str(DEBTOR), "--phone", "+573101234567", "--at", "2026-11-24T10:00")
    assert (allowed["allowed"], allowed["timezone"]) == (True, "America/Bogota")
    sunday = ask("--debtor", str(DEBTOR), "--phone", "+573101234567", "--at", "2026-11-29T10:00")
    assert (sunday["allowed"], sunday["rule"]) == (False, "co_closed_day")
    assert sunday["next_allowed_at"] == "2026-11-30T07:00:00-05:00"
    new_yorker = json.dumps({"name": "Ann Lee", "timezone": "America/New_York", "region": "US"})
    no_consent = ask("--debtor", new_yorker, "--phone", "+14155552671", "--at", "2026-11-24T12:00")
    assert (no_consent["rule"], no_consent["next_allowed_at"]) == ("us_consent_mobile", None)
    landline = ask(
        "--debtor",
        new_yorker,
        "--phone",
        "+14155552671",
        "--at",
        "2026-11-24T08:30:00-05:00",
        "--line-type",
        "landline",
    )
    assert (landline["rule"], landline["timezone"]) == ("us_hours", "America/Los_Angeles")
    history = tmp_path / "h.jsonl"
    history.write_text(
        '{"at": "2026-11-24T08:00:00-05:00", "phone": "+573101234567", "channel": "agent",'
        ' "result": "answered", "artificial_voice": false}\n',
        encoding="utf-8",
    )
    again = ask(
        "--debtor",
        str(DEBTOR),
        "--phone",
        "+573101234567",
        "--at",
        "2026-11-24T15:00:00-05:00",
        "--history",
        str(history),
    )
    assert (again["allowed"], again["rule"]) == (False, "co_one_contact_per_day")


def test_check_exits_2_with_a_clear_message_on_bad_input(tmp_path: Path) -> None:
    base = ["compliance", "check", "--debtor", str(DEBTOR), "--phone", "+573101234567"]
    for extra, message in (
        (["--at", "mañana"], "at: not an ISO 8601 time"),
        (["--at", "2026-11-24T10:00", "--line-type", "satellite"], "line type"),
        (["--at", "2026-11-24T10:00", "--jurisdiction", "XX"], "no calling rules for 'XX'"),
    ):
        result = run(app, [*base, *extra])
        assert result.exit_code == 2 and message in result.output, result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"at": "2026-11-24T08:00:00-05:00", "channel": "fax", "result": "answered"}\n')
    result = run(app, [*base, "--at", "2026-11-24T10:00", "--history", str(bad)])
    assert result.exit_code == 2 and "history line 1: channel must be one of" in result.output


def test_outside_contacts_import_and_a_clean_demo_audit(tmp_path: Path) -> None:
    database = tmp_path / "demo.sqlite3"
    plan = load_dialplan(DEFAULT_DIALPLAN)
    result = asyncio.run(run_demo(plan, database=database, debtors=30, today=date(2026, 11, 23)))
    env = {"VOICEBOT_DATABASE_URL": f"sqlite:///{database}"}
    report_csv = tmp_path / "audit.csv"
    texts_csv = tmp_path / "texts.csv"
    total = texts = 0
    for status in result.statuses:
        audit = run(
            app,
            [
                "compliance",
                "audit",
                "--campaign",
                status["campaign"],
                "--csv",
                str(report_csv),
                "--texts-csv",
                str(texts_csv),
            ],
            env=env,
        )
        assert audit.exit_code == 0, audit.output
        report = json.loads(audit.stdout)
        assert (report["violation_count"], report["violations_by_rule"]) == (0, {})
        rows = list(csv.DictReader(io.StringIO(report_csv.read_text(encoding="utf-8"))))
        assert len(rows) == report["dials"] and all(r["lawful"] == "True" for r in rows)
        total += report["dials"]
        # The demo's texts went through the sender: each replays lawful on its recorded facts.
        assert (report["text_violation_count"], report["text_violations_by_rule"]) == (0, {})
        sent = list(csv.DictReader(io.StringIO(texts_csv.read_text(encoding="utf-8"))))
        assert len(sent) == report["texts"] and all(r["lawful"] == "True" for r in sent)
        texts += report["texts"]
    assert total >= 30  # every debtor was dialled once
    assert texts == len(result.follow_ups.texts.sent) > 0
    first = result.results[0][0]
    contacts = tmp_path / "contactos.csv"
    contacts.write_text(
        "id_cliente,fecha_hora,canal,resultado,fuente\n"
        f"{first.external_id},2026-11-20T10:00:00-05:00,agent,answered,crm\n"
        f"{first.external_id},2026-11-20 10:00,sms,answered,crm\n"
        "NOBODY,2026-11-20T10:00:00-05:00,sms,answered,crm\n",
        encoding="utf-8",
    )
    imported = run(app, ["contacts", "import", str(contacts)], env=env)
    assert imported.exit_code == 1
    assert "1 contact(s) recorded" in imported.output
    assert "line 3, fecha_hora: at: 2026-11-20T10:00:00 has no UTC offset" in imported.output
    assert "line 4, id_cliente: no debtor with external id 'NOBODY'" in imported.output
    again = run(app, ["contacts", "import", str(contacts)], env=env)
    assert "0 contact(s) recorded, 1 already known" in again.output
