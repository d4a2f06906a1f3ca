"""``voicebot worker --processes N``: what each SIP worker process on a machine gets for itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from voicebot.cli import app
from voicebot.cli.errors import InputError
from voicebot.cli.worker_cmd import process_environments
from voicebot.config import Settings


def test_each_process_gets_its_own_ports_and_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEBOT_SIP__LOCAL_PORT", "5070")
    monkeypatch.setenv("VOICEBOT_SIP__RTP_PORT_LOW", "10000")
    monkeypatch.setenv("VOICEBOT_SIP__RTP_PORT_HIGH", "10999")
    monkeypatch.setenv("VOICEBOT_DIALER__WORKER_ID", "pbx-a")
    monkeypatch.setenv("VOICEBOT_DIALER__HEALTH_PORT", "9100")
    envs = process_environments(Settings(), "sip", 3)
    assert [e["VOICEBOT_SIP__LOCAL_PORT"] for e in envs] == ["5070", "5071", "5072"]
    assert [e["VOICEBOT_DIALER__WORKER_ID"] for e in envs] == ["pbx-a-1", "pbx-a-2", "pbx-a-3"]
    assert [e["VOICEBOT_DIALER__HEALTH_PORT"] for e in envs] == ["9100", "9101", "9102"]
    ranges = [
        range(int(e["VOICEBOT_SIP__RTP_PORT_LOW"]), int(e["VOICEBOT_SIP__RTP_PORT_HIGH"]) + 1)
        for e in envs
    ]
    ports = [p for r in ranges for p in r]
    assert len(ports) == len(set(ports))  # no RTP port shared
    assert min(ports) >= 10000 and max(ports) <= 10999
    assert all(len(r) >= 2 for r in ranges)


def test_one_process_keeps_the_settings_and_defaults_stay_unshared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert process_environments(Settings(), "sip", 1) == [{}]
    monkeypatch.setenv("VOICEBOT_SIP__LOCAL_PORT", "0")  # any free port: nothing to split
    envs = process_environments(Settings(), "sip", 2)
    assert all("VOICEBOT_SIP__LOCAL_PORT" not in e for e in envs)
    assert all("VOICEBOT_DIALER__WORKER_ID" not in e for e in envs)  # host:pid is unique


def test_what_cannot_be_split_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match="public webhook URL"):
        process_environments(Settings(), "twilio", 2)
    with pytest.raises(InputError, match="0 \\(one per core\\)"):
        process_environments(Settings(), "sip", -1)
    monkeypatch.setenv("VOICEBOT_SIP__RTP_PORT_LOW", "10000")
    monkeypatch.setenv("VOICEBOT_SIP__RTP_PORT_HIGH", "10003")
    with pytest.raises(InputError, match="too small"):
        process_environments(Settings(), "sip", 4)


def test_the_callback_number_is_answered_from_one_process_only(tmp_path: Path) -> None:
    env = {
        "VOICEBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "VOICEBOT_SIP__SERVER": "pbx",
        "VOICEBOT_SIP__USER": "bot",
    }
    args = ["worker", "--campaign", "noviembre", "--inbound", "--processes", "2"]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error: --inbound answers the callback number")
