"""``voicebot recordings``: export with its timeline, purge (dry run first), holds, a campaign policy."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from recording_world import CALL_START, migrated_sessions, seed_attempt, stored_recording
from sqlalchemy import select
from typer.testing import CliRunner

from voicebot.cli import app
from voicebot.recording.store import LocalStore
from voicebot.storage import models as m


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    sessions = migrated_sessions(tmp_path)
    monkeypatch.setenv("VOICEBOT_DATABASE_URL", str(sessions.kw["bind"].url))
    monkeypatch.setenv("VOICEBOT_RECORDINGS__DIR", str(tmp_path / "rec"))
    monkeypatch.chdir(tmp_path)
    return sessions, LocalStore(tmp_path / "rec")


def test_export_writes_the_file_and_its_timeline_and_audits_it(env) -> None:  # type: ignore[no-untyped-def]
    sessions, store = env
    seeded = seed_attempt(sessions)
    recording_id = stored_recording(sessions, store, seeded)
    with sessions.begin() as s:
        call = m.CallRecord(
            attempt_id=seeded.attempt_id,
            campaign_id=seeded.campaign_id,
            debtor_id=seeded.debtor_id,
            disposition="RPC",
            transcript=[
                {"at": CALL_START.isoformat(), "speaker": "bot", "text": "Buenos días"},
                {"at": CALL_START.isoformat(), "speaker": "debtor", "text": "sí, soy yo"},
            ],
            started_at=CALL_START,
            ended_at=CALL_START + timedelta(seconds=2),
        )
        s.add(call)
        s.get_one(m.Recording, recording_id).timeline = [
            {"turn": 0, "speaker": "bot", "offset_ms": 0},
            {"turn": 1, "speaker": "debtor", "offset_ms": 1500},
        ]
        s.flush()
        call_id = call.id
    done = CliRunner().invoke(app, ["recordings", "export", "--call", str(call_id)])
    assert done.exit_code == 0, done.output
    with sessions() as s:
        row = s.get_one(m.Recording, recording_id)
        assert Path(f"call-{call_id}.flac").read_bytes() == store.path(row.key).read_bytes()
        audit = s.scalar(select(m.AuditEntry).where(m.AuditEntry.action == "recording_exported"))
        assert audit is not None and audit.attempt_id == seeded.attempt_id
    sidecar = json.loads(Path(f"call-{call_id}.json").read_text(encoding="utf-8"))
    assert sidecar["channels"] == ["bot", "far_end"]
    assert sidecar["timeline"][1] == {
        "turn": 1,
        "speaker": "debtor",
        "offset_ms": 1500,
        "text": "sí, soy yo",
    }
    missing = CliRunner().invoke(app, ["recordings", "export", "--call", "999"])
    assert missing.exit_code == 2 and "no recording" in missing.output


def test_purge_dry_run_then_purge_respects_a_hold(env) -> None:  # type: ignore[no-untyped-def]
    sessions, store = env
    old = CALL_START - timedelta(days=800)
    free = seed_attempt(sessions, name="free")
    held = seed_attempt(sessions, name="held")
    free_id = stored_recording(sessions, store, free, started_at=old)
    held_id = stored_recording(sessions, store, held, started_at=old)
    cli = CliRunner()
    placed = cli.invoke(
        app, ["recordings", "hold", "--debtor", str(held.debtor_id), "--reason", "complaint"]
    )
    assert placed.exit_code == 0, placed.output
    dry = cli.invoke(app, ["recordings", "purge", "--dry-run"])
    assert dry.exit_code == 0 and f"would delete: recording {free_id}" in dry.output
    with sessions() as s:
        assert s.get_one(m.Recording, free_id).status == "complete"
    done = cli.invoke(app, ["recordings", "purge"])
    assert "deleted 1 recording(s); kept 1 under legal hold" in done.output
    with sessions() as s:
        assert s.get_one(m.Recording, free_id).status == "purged"
        assert s.get_one(m.Recording, held_id).status == "complete"


def test_a_campaign_policy_is_checked_before_it_is_saved(env) -> None:  # type: ignore[no-untyped-def]
    sessions, _ = env
    seed_attempt(sessions)
    cli = CliRunner()
    ok = cli.invoke(
        app,
        [
            "recordings",
            "policy",
            "--campaign",
            "campaign-CO",
            "--notice",
            "--retention-days",
            "1825",
        ],
    )
    assert ok.exit_code == 0, ok.output
    bad = cli.invoke(
        app, ["recordings", "policy", "--campaign", "campaign-CO", "--retention-days", "0"]
    )
    assert bad.exit_code == 2 and "retention_days" in bad.output
    with sessions() as s:
        campaign = s.scalar(select(m.Campaign).where(m.Campaign.name == "campaign-CO"))
        assert campaign is not None
        assert campaign.recording_policy == {"notice": True, "retention_days": 1825}
