"""``voicebot simulate --inbound`` and ``voicebot ivr`` at the terminal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from voicebot.cli import app

ROOT = Path(__file__).resolve().parents[2]
LINE = str(ROOT / "examples" / "inbound_line.json")


def one_line_error(args: list[str], env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_simulate_inbound_plays_a_scripted_call_from_an_unknown_number(tmp_path: Path) -> None:
    script = tmp_path / "turns.txt"
    script.write_text("#79851234\n#1\npago todo el viernes\nsí\n", encoding="utf-8")
    args = ["simulate", "--inbound", "--caller", "+573009998877", "--line", LINE]
    result = CliRunner().invoke(app, [*args, "--script", str(script), "--today", "2026-11-23"])
    assert result.exit_code == 0, result.output
    assert "BOT: " in result.stdout and "DEUDOR: #79851234" in result.stdout
    outcome = json.loads(result.stdout[result.stdout.index("{") :])
    assert outcome["disposition"] == "PTP"
    assert outcome["direction"] == "inbound" and outcome["caller_id"] == "+573009998877"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "--inbound", "--caller", "+573001112233"], "--inbound needs --caller"),
        (["simulate", "--inbound", "--line", LINE], "--inbound needs --caller"),
        (["simulate", "--caller", "+573001112233", "--line", LINE], "need --inbound"),
        (["simulate", "--inbound", "--caller", "+57300", "--line", "missing.json"], "missing.json"),
    ],
)
def test_simulate_inbound_bad_input_is_one_line(args: list[str], message: str) -> None:
    assert message in one_line_error(args)


def test_simulate_inbound_rejects_a_bad_line_file(tmp_path: Path) -> None:
    bad = tmp_path / "line.json"
    bad.write_text('{"debtors": [{"name": "Ana", "phones": ["hola"]}]}', encoding="utf-8")
    args = ["simulate", "--inbound", "--caller", "+573001112233", "--line", str(bad)]
    assert "debtors[0].phones" in one_line_error(args)


def test_ivr_refuses_an_unknown_carrier() -> None:
    assert "expected sip or twilio" in one_line_error(["ivr", "--carrier", "pots"])


def test_ivr_on_sip_names_the_missing_settings() -> None:
    line = one_line_error(["ivr", "--carrier", "sip"], env={"VOICEBOT_SIP__SERVER": ""})
    assert "VOICEBOT_SIP__SERVER" in line


def test_ivr_on_twilio_names_the_missing_settings() -> None:
    line = one_line_error(["ivr", "--carrier", "twilio"], env={"VOICEBOT_TWILIO__ACCOUNT_SID": ""})
    assert "VOICEBOT_TWILIO__AUTH_TOKEN" in line and "VOICEBOT_TWILIO__PUBLIC_BASE_URL" in line
