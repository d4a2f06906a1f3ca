"""The campaign manager's commands for texts and payments, end to end on a SQLite file."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from followups_world import promised
from typer.testing import CliRunner

from voicebot.cli import app
from voicebot.storage import models as m
from voicebot.storage.db import make_engine, session_factory, upgrade


def test_policy_payments_and_sending_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    env = {"VOICEBOT_DATABASE_URL": url, "VOICEBOT_MESSAGING__PROVIDER": "log"}
    upgrade(url)
    sessions = session_factory(make_engine(url))
    now = datetime.now(UTC)
    world = promised(sessions, call_ended=now, due=(now + timedelta(days=3)).date())
    run = CliRunner().invoke

    bad = run(app, ["messages", "policy", "c", "link_template=http://x/{token}"], env=env)
    assert bad.exit_code == 2 and "must be an https URL" in bad.output
    shown = run(app, ["messages", "policy", "c", "reminder=both", "reminder_hour=9"], env=env)
    assert shown.exit_code == 0, shown.output
    policy = json.loads(shown.output)
    assert (policy["reminder"], policy["reminder_hour"], policy["link_secret"]) == (
        "both",
        9,
        "***",
    )

    template = 'whatsapp_templates={"reminder": {"sid": "HX1", "variables": ["company"]}}'
    assert run(app, ["messages", "policy", "c", template], env=env).exit_code == 0
    broken = run(app, ["messages", "policy", "c", "whatsapp_templates={nope"], env=env)
    assert broken.exit_code == 2 and "whatsapp_templates: expected JSON" in broken.output
    strategy = 'after_broken={"preventiva": {"first": "text", "call_after_hours": 48}}'
    set_strategy = run(app, ["messages", "policy", "c", strategy], env=env)
    assert set_strategy.exit_code == 0, set_strategy.output
    assert json.loads(set_strategy.output)["after_broken"]["preventiva"]["first"] == "text"
    wrong = run(app, ["messages", "policy", "c", 'after_broken={"x": {"first": "fax"}}'], env=env)
    assert wrong.exit_code == 2 and "after_broken.x.first: one of call, text" in wrong.output
    sent = run(app, ["messages", "send", "--once"], env=env)
    assert sent.exit_code == 0, sent.output
    with sessions() as s:
        statuses = {x.kind: x.status for x in s.query(m.Message)}
    # Peru's hours decide whether the link went now or waits: either way it was judged.
    assert statuses["payment_link"] in ("sent", "pending")

    payments = tmp_path / "pagos.csv"
    payments.write_text(
        f"payment_id,debt_ref,amount,currency,paid_on\nP1,CR-c,150000,PEN,{date.today()}\n",
        encoding="utf-8",
    )
    imported = run(app, ["payments", "import", str(payments)], env=env)
    assert imported.exit_code == 0, imported.output
    assert "imported 1 payments (0 already imported): 1 promises kept" in imported.output
    payments.write_text("payment_id,debt_ref,amount,currency,paid_on\nP2,CR-x,1,PEN,2026-01-01\n")
    refused = run(app, ["payments", "import", str(payments)], env=env)
    assert refused.exit_code == 2 and "line 2: no debt with reference 'CR-x'" in refused.output
    with sessions() as s:
        assert s.get_one(m.PromiseToPay, world.promise_id).status == "kept"
    overdue = run(app, ["payments", "break-overdue"], env=env)
    assert overdue.exit_code == 0 and "0 promises broken" in overdue.output
