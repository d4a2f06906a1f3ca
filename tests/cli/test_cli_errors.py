"""Every bad input at the terminal: one line on stderr that says what is wrong, exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from voicebot.cli import app
from voicebot.config import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]
DEBTOR = str(ROOT / "examples" / "debtor.json")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A migrated SQLite database with one campaign, ``noviembre``."""
    env = {"VOICEBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    created = runner.invoke(
        app, ["campaign", "create", "noviembre", "--jurisdiction", "CO"], env=env
    )
    assert created.exit_code == 0, created.output
    return env


def one_line_error(args: list[str], env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stdout == "", result.stdout  # errors go to stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_import_of_a_missing_file(env: dict[str, str]) -> None:
    line = one_line_error(
        ["campaign", "import", "/no/such/file.csv", "--campaign", "noviembre"], env
    )
    assert line == "error: cannot read /no/such/file.csv: No such file or directory"


def test_import_of_an_unreadable_csv(env: dict[str, str], tmp_path: Path) -> None:
    binary = tmp_path / "cartera.csv"
    binary.write_bytes(b"\x00\x01\x02PK\x03\x04 not a csv \xff\xfe")
    line = one_line_error(["campaign", "import", str(binary), "--campaign", "noviembre"], env)
    assert line.startswith(f"error: {binary}: ")


def test_import_with_an_error_report_nowhere_to_go(env: dict[str, str], tmp_path: Path) -> None:
    csv = tmp_path / "cartera.csv"
    csv.write_text("id_cliente,nombre\n", encoding="utf-8")
    args = ["campaign", "import", str(csv), "--campaign", "noviembre"]
    line = one_line_error([*args, "--errors-out", "/no/such/dir/errores.csv"], env)
    assert line == "error: --errors-out: no directory /no/such/dir"


def test_import_into_an_unknown_campaign(env: dict[str, str], tmp_path: Path) -> None:
    csv = tmp_path / "cartera.csv"
    csv.write_text("id_cliente,nombre\n", encoding="utf-8")
    line = one_line_error(["campaign", "import", str(csv), "--campaign", "diciembre"], env)
    assert line == "error: no campaign named 'diciembre'"


@pytest.mark.parametrize("command", ["status", "launch", "pause", "resume", "stop"])
def test_unknown_campaign_in_every_lifecycle_command(env: dict[str, str], command: str) -> None:
    assert one_line_error(["campaign", command, "diciembre"], env) == (
        "error: no campaign named 'diciembre'"
    )


def test_a_transition_the_campaign_cannot_make(env: dict[str, str]) -> None:
    line = one_line_error(["campaign", "resume", "noviembre"], env)
    assert "cannot resume" in line


def test_bad_jurisdiction_and_bad_dialplan(env: dict[str, str], tmp_path: Path) -> None:
    line = one_line_error(["campaign", "create", "x", "--jurisdiction", "AR"], env)
    assert line == "error: --jurisdiction: expected one of CO, CL, MX, PE, US, got 'AR'"
    broken = tmp_path / "roto.yaml"
    broken.write_text("name: roto\nstates: {}\n", encoding="utf-8")
    line = one_line_error(
        ["campaign", "create", "x", "--jurisdiction", "CO", "--dialplan", str(broken)], env
    )
    assert line.startswith(f"error: {broken}") and "voicebot dialplan check" in line


def test_worker_checks_its_carrier_and_campaign_before_dialing(env: dict[str, str]) -> None:
    line = one_line_error(["worker", "--campaign", "noviembre", "--carrier", "pigeon"], env)
    assert line == "error: --carrier: expected sip or twilio, got 'pigeon'"
    line = one_line_error(["worker", "--campaign", "noviembre"], env)
    assert line == "error: the sip carrier needs VOICEBOT_SIP__SERVER, VOICEBOT_SIP__USER"
    sip = {**env, "VOICEBOT_SIP__SERVER": "pbx", "VOICEBOT_SIP__USER": "bot"}
    line = one_line_error(["worker", "--campaign", "noviembre"], sip)
    assert line.startswith("error: refusing to dial on sip without a speech recognizer")
    korean = {**sip, "VOICEBOT_SPEECH__LANGUAGE": "ko"}  # the model installed here
    assert one_line_error(["worker", "--campaign", "diciembre"], korean) == (
        "error: no campaign named 'diciembre'"
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--today", "2026-13-40"], "error: --today: expected a date YYYY-MM-DD, got '2026-13-40'"),
        (["--at", "25:99"], "error: --at: expected a time HH:MM, got '25:99'"),
        (
            ["--script", "/no/such.turns"],
            "error: cannot read /no/such.turns: No such file or directory",
        ),
        (
            ["--dialplan", "/no/such.yaml"],
            "error: /no/such.yaml: <file>: cannot read: No such file or directory",
        ),
    ],
)
def test_simulate_bad_input(args: list[str], expected: str) -> None:
    assert one_line_error(["simulate", "--debtor", DEBTOR, *args]) == expected


def test_simulate_bad_debtor() -> None:
    assert one_line_error(["simulate", "--debtor", "/no/debtor.json"]) == (
        "error: cannot read /no/debtor.json: No such file or directory"
    )
    assert one_line_error(["simulate", "--debtor", '{"name": ']).startswith(
        "error: --debtor: not valid JSON"
    )


def test_demo_and_nlu_bad_input() -> None:
    assert (
        one_line_error(["demo", "--debtors", "0"]) == "error: --debtors: expected at least 1, got 0"
    )
    assert one_line_error(["demo", "--today", "mañana"]) == (
        "error: --today: expected a date YYYY-MM-DD, got 'mañana'"
    )
    assert one_line_error(["nlu", "sí", "--tz", "Mars/Olympus"]) == (
        "error: --tz: unknown time zone 'Mars/Olympus'"
    )


def test_an_unreachable_database_without_its_password_in_the_message() -> None:
    closed = {"VOICEBOT_DATABASE_URL": "postgresql+psycopg://bot:s3cret@127.0.0.1:9/voicebot"}
    for args in (["db", "upgrade"], ["serve"]):
        line = one_line_error(args, closed)
        assert line.startswith("error: cannot reach the database at 127.0.0.1:9/voicebot: ")
        assert "s3cret" not in line
    unhealthy = CliRunner().invoke(app, ["db", "check"], env=closed)
    assert unhealthy.exit_code == 1 and "s3cret" not in unhealthy.output


def test_a_misspelt_or_invalid_setting(env: dict[str, str]) -> None:
    line = one_line_error(["campaign", "status", "noviembre"], {**env, "VOICEBOT_SIP_USER": "x"})
    assert line.startswith(
        "error: unknown setting(s) in the environment or .env: VOICEBOT_SIP_USER "
        "(did you mean VOICEBOT_SIP__USER?)"
    )
    line = one_line_error(["db", "upgrade"], {**env, "VOICEBOT_SIP__PORT": "cinco"})
    assert line.startswith("error: invalid setting(s): VOICEBOT_SIP__PORT: ")


def test_settings_refuse_unknown_names_and_read_nested_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOICEBOT_SIP__SERVER", "pbx.example")
    monkeypatch.setenv("VOICEBOT_SPEECH__PREWARM_RECOGNIZERS", "0")
    settings = Settings()
    assert (settings.sip.server, settings.speech.prewarm_recognizers) == ("pbx.example", 0)
    monkeypatch.setenv("VOICEBOT_SIP__SERVR", "pbx.example")
    monkeypatch.setenv("VOICEBOT_NOT_A_SETTING", "1")
    with pytest.raises(SettingsError) as refused:
        Settings()
    message = str(refused.value)
    assert "VOICEBOT_NOT_A_SETTING" in message
    assert "VOICEBOT_SIP__SERVR (did you mean VOICEBOT_SIP__SERVER?)" in message


def test_an_env_file_is_checked_too_and_may_hold_other_tools_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    Path(".env").write_text(
        "POSTGRES_PASSWORD=for-compose\nVOICEBOT_COMPANY=Acme Cobranzas\n", encoding="utf-8"
    )
    assert Settings().company == "Acme Cobranzas"
    with Path(".env").open("a", encoding="utf-8") as env_file:
        env_file.write("VOICEBOT_COMPANNY=typo\n")
    with pytest.raises(
        SettingsError, match=r"VOICEBOT_COMPANNY \(did you mean VOICEBOT_COMPANY\?\)"
    ):
        Settings()
