"""The campaign manager's CLI end to end on a SQLite file: create, import, launch, status, pause, stop."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from voicebot.cli import app

CSV = (
    "id_cliente,nombre,documento,celular,saldo,moneda,dias_mora,acreedor,segmento\n"
    "A1,Ana Pérez,52111234,3101234567,1.200.000,COP,45,Banco Andino,B\n"
    "A2,Luis Gómez,79123456,12345,500.000,COP,30,Banco Andino,A\n"
    "A3,Rosa Díaz,1010101,3151112233,300.000,COP,12,Banco Andino,A\n"
)


def test_campaign_lifecycle_from_the_command_line(tmp_path: Path) -> None:
    env = {"VOICEBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    run = CliRunner().invoke
    assert run(app, ["db", "upgrade"], env=env).exit_code == 0
    created = run(
        app,
        ["campaign", "create", "noviembre", "--jurisdiction", "CO", "--min-payment", "100000"],
        env=env,
    )
    assert created.exit_code == 0, created.output
    portfolio = tmp_path / "cartera.csv"
    portfolio.write_text(CSV, encoding="utf-8")
    errors = tmp_path / "errores.csv"
    imported = run(
        app,
        [
            "campaign",
            "import",
            str(portfolio),
            "--campaign",
            "noviembre",
            "--errors-out",
            str(errors),
        ],
        env=env,
    )
    assert imported.exit_code == 0, imported.output
    assert "2 of 3 rows imported" in imported.output
    assert "line 3, celular:" in imported.output
    assert errors.read_text(encoding="utf-8").splitlines()[1].startswith('3,"celular"')
    launched = run(app, ["campaign", "launch", "noviembre"], env=env)
    assert "2 attempts queued" in launched.output
    status = run(app, ["campaign", "status", "noviembre", "--json"], env=env)
    data = json.loads(status.output)
    assert data["status"] == "running" and data["attempts_by_status"] == {"queued": 2}
    assert data["kpis"]["debtors_in_campaign"] == 2
    assert run(app, ["campaign", "pause", "noviembre"], env=env).exit_code == 0
    again = run(app, ["campaign", "pause", "noviembre"], env=env)
    assert again.exit_code == 2 and "cannot pause a campaign that is paused" in again.output
    assert run(app, ["campaign", "resume", "noviembre"], env=env).exit_code == 0
    stopped = run(app, ["campaign", "stop", "noviembre"], env=env)
    assert "2 queued attempts cancelled" in stopped.output
    missing = run(app, ["campaign", "status", "diciembre"], env=env)
    assert missing.exit_code == 2 and "no campaign named 'diciembre'" in missing.output
