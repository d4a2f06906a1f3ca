"""`voicebot eval dialog`: scripted conversations scored, misses explained, bad files refused."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from voicebot.cli import app

ROOT = Path(__file__).resolve().parents[2]
DEBTOR = json.loads((ROOT / "examples" / "debtor.json").read_text(encoding="utf-8"))


def line(ident: str, turns: list[str], expect: dict[str, object]) -> str:
    return json.dumps(
        {
            "id": ident,
            "today": "2026-11-23",
            "at": "10:00",
            "debtor": DEBTOR,
            "turns": turns,
            "expect": expect,
        },
        ensure_ascii=False,
    )


PASS = line(
    "promise",
    ["sí", "#1234", "le pago todo el viernes", "sí"],
    {"disposition": ["PTP"], "promise_amount": 1200000, "promise_date": "2026-11-27"},
)
MISS = line(
    "wrong-expectation",
    ["sí", "#1234", "esa deuda no es mía", "<colgar>"],
    {"disposition": ["PTP"], "dispute": True, "opt_out": True},
)


def run(tmp_path: Path, *lines: str, as_json: bool = False) -> tuple[int, str]:
    path = tmp_path / "conversations.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ["eval", "dialog", str(path), *(["--json"] if as_json else [])]
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


def test_passes_and_each_failed_expectation_with_the_transcript(tmp_path: Path) -> None:
    code, out = run(tmp_path, PASS, MISS)
    assert code == 0, out
    assert out.startswith("1/2 conversations end as expected")
    assert "MISS wrong-expectation (line 2)" in out
    assert "disposition: expected PTP, got DISP" in out
    assert "opt_out: expected True, got False" in out
    assert "dispute:" not in out  # that expectation held
    assert "DEUDOR: esa deuda no es mía  [dispute]" in out
    assert "MISS promise" not in out


def test_json_report(tmp_path: Path) -> None:
    code, out = run(tmp_path, PASS, MISS, as_json=True)
    assert code == 0, out
    report = json.loads(out)
    assert report["conversations"] == 2 and report["passed"] == 1 and report["rate"] == 0.5
    [miss] = report["misses"]
    assert miss["id"] == "wrong-expectation"
    assert {f["key"] for f in miss["failures"]} == {"disposition", "opt_out"}
    assert miss["transcript"][0]["speaker"] == "bot"


def test_a_malformed_line_stops_the_run_with_its_number(tmp_path: Path) -> None:
    code, out = run(tmp_path, PASS, "", '{"id": "x", "today": "mañana"}')
    assert code == 2
    assert ":3: today: expected YYYY-MM-DD" in out
    bad_key = line("typo", ["sí"], {"dispositon": ["PTP"]})
    code, out = run(tmp_path, bad_key)
    assert code == 2 and "expect.dispositon: unknown key" in out
    code, out = run(tmp_path, PASS, PASS)
    assert code == 2 and "duplicate id 'promise'" in out


def test_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["eval", "dialog", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2
    assert "cannot read" in result.output
