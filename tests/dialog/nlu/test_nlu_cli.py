"""``voicebot nlu`` and ``voicebot eval nlu`` through Typer and as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from voicebot.cli import app

ROOT = Path(__file__).resolve().parents[3]
runner = CliRunner()


def test_one_utterance_prints_one_json_object() -> None:
    result = runner.invoke(
        app, ["nlu", "el viernes le consigno cincuenta mil pesos", "--today", "2026-11-23"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["text"] == "el viernes le consigno cincuenta mil pesos"
    assert out["intent"] == "promise_to_pay"
    assert out["amount"] == 50000
    assert out["date"] == "2026-11-27"
    assert set(out) == {
        "text", "intent", "confidence", "amount", "date", "callback_at",
        "full_balance", "instalments", "digits", "channel", "clock",
    }  # fmt: skip


def test_now_and_zone_give_an_exact_callback_time() -> None:
    result = runner.invoke(
        app,
        ["nlu", "llámeme en media hora", "--now", "2026-11-23T10:00:00", "--tz", "America/Lima"],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["intent"] == "callback_request"
    assert out["callback_at"] == "2026-11-23T10:30:00-05:00"


def test_stdin_gives_one_line_per_utterance_in_order() -> None:
    lines = ["sí, soy yo", "", "ya pagué", "no me llamen más"]
    result = runner.invoke(app, ["nlu", "--today", "2026-11-23"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    outs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["text"] for o in outs] == lines
    assert [o["intent"] for o in outs] == ["affirm", "unknown", "already_paid", "stop_calling"]


def test_bad_options_are_clear_errors() -> None:
    bad_day = runner.invoke(app, ["nlu", "sí", "--today", "23/11/2026"])
    assert bad_day.exit_code != 0
    assert "YYYY-MM-DD" in bad_day.output
    bad_zone = runner.invoke(app, ["nlu", "sí", "--tz", "Mars/Olympus"])
    assert bad_zone.exit_code != 0
    assert "Mars/Olympus" in bad_zone.output


def test_eval_reports_rates_and_misses(tmp_path: Path) -> None:
    data = tmp_path / "set.jsonl"
    data.write_text(
        '{"text": "ya pagué", "intent": "already_paid"}\n'
        '{"text": "mañana pago", "intent": "promise_to_pay", "date": "2026-11-24"}\n'
        '{"text": "hace calor", "intent": "affirm"}\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["eval", "nlu", str(data), "--today", "2026-11-23"])
    assert result.exit_code == 0, result.output
    assert "intent accuracy:    2/3 = 66.7 %" in result.stdout
    assert "date exact match:   1/1 = 100.0 %" in result.stdout
    assert "amount exact match: n/a" in result.stdout
    assert "line 3: 'hace calor': expected affirm, got unknown" in result.stdout
    as_json = runner.invoke(app, ["eval", "nlu", str(data), "--today", "2026-11-23", "--json"])
    scores = json.loads(as_json.stdout)
    assert scores["intent"] == {"total": 3, "right": 2, "accuracy": 2 / 3}
    assert scores["misses"][0]["line"] == 3


def test_eval_bad_input_exits_non_zero_with_the_line(tmp_path: Path) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text('{"text": "sí", "intent": "affirm"}\n{"text": "sí", "intent": \n', "utf-8")
    result = runner.invoke(app, ["eval", "nlu", str(data)])
    assert result.exit_code == 2
    assert f"{data}:2: not valid JSON" in result.output
    missing = runner.invoke(app, ["eval", "nlu", str(tmp_path / "absent.jsonl")])
    assert missing.exit_code == 2
    assert "cannot read" in missing.output


def test_real_process_scores_the_dev_set_and_pipes_utterances(dev_set: Path) -> None:
    voicebot = Path(sys.executable).parent / "voicebot"
    if not voicebot.exists():
        voicebot = ROOT / ".venv" / "bin" / "voicebot"
    scored = subprocess.run(
        [str(voicebot), "eval", "nlu", str(dev_set), "--today", "2026-11-23", "--json"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    scores = json.loads(scored.stdout)
    assert scores["intent"]["accuracy"] >= 0.95
    assert scores["amount"]["exact"] == 1.0 and scores["date"]["exact"] == 1.0
    piped = subprocess.run(
        [str(voicebot), "nlu", "--today", "2026-11-23"],
        input="le pago doscientas lucas el quince\nnumero equivocado\n",
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    first, second = (json.loads(line) for line in piped.stdout.splitlines())
    assert (first["amount"], first["date"]) == (200000, "2026-12-15")
    assert second["intent"] == "wrong_number"
