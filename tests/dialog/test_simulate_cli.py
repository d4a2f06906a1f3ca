"""`voicebot simulate`: scripted text calls, and the voice line with the real recognizer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from voicebot.cli import app

ROOT = Path(__file__).resolve().parents[2]
DEBTOR = ROOT / "examples" / "debtor.json"


def test_scripted_text_call_prints_bot_lines_and_outcome(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--debtor",
            str(DEBTOR),
            "--script",
            str(ROOT / "examples" / "promise.turns"),
            "--today",
            "2026-11-23",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "BOT: Buenos días" in result.output
    outcome = json.loads(result.output[result.output.index("{\n") :])
    assert outcome["disposition"] == "PTP"
    assert outcome["promise"]["instalments"] == 6


def test_inline_debtor_json_and_a_clear_error_for_bad_json() -> None:
    runner = CliRunner()
    ok = runner.invoke(
        app,
        [
            "simulate",
            "--debtor",
            '{"name": "Ana Ruiz", "debts": [{"creditor": "B", "amount": 1000}]}',
            "--script",
            "/dev/null",
            "--quiet",
        ],
    )
    assert ok.exit_code == 0 and json.loads(ok.output)["disposition"] == "DROP"
    bad = runner.invoke(app, ["simulate", "--debtor", '{"name": ', "--script", "/dev/null"])
    assert bad.exit_code != 0 and "not valid JSON" in bad.output


def test_voice_call_through_tts_line_and_vosk(tmp_path: Path) -> None:
    """Korean keyword answers (the model installed here) drive the Spanish dialplan over audio."""
    turns = tmp_path / "ko.turns"
    turns.write_text("네\n#1234\n<colgar>\n", encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "voicebot.cli",
            "simulate",
            "--debtor",
            str(DEBTOR),
            "--script",
            str(turns),
            "--voice",
            "--lang",
            "ko",
            "--today",
            "2026-11-23",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout[done.stdout.index("{\n") :])
    assert outcome["disposition"] == "RPC"
    assert outcome["flags"]["right_party_contacted"] and outcome["flags"]["disclosure_made"]
    assert outcome["started_at"].startswith("2026-11-23T10:00")
    debtor_turns = [t for t in outcome["transcript"] if t["speaker"] == "debtor"]
    assert debtor_turns[0]["intent"] == "affirm" and debtor_turns[1]["text"] == "#1234"


def test_voice_mode_without_a_spanish_model_says_how_to_get_one(tmp_path: Path) -> None:
    turns = tmp_path / "es.turns"
    turns.write_text("sí\n", encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["simulate", "--debtor", str(DEBTOR), "--script", str(turns), "--voice", "--lang", "es"],
        env={"VOSK_MODEL_PATH": ""},
    )
    assert result.exit_code == 2
    assert "voicebot models download es" in result.output
