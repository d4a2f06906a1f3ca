"""The demo's audio mode: the same pipeline through TTS → G.711 line → Vosk (Korean model here)."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from sqlalchemy import select

from voicebot.config import RecordingsConfig, Settings, SpeechConfig
from voicebot.data import DEFAULT_DIALPLAN
from voicebot.demo.campaign import run_demo
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.domain.outcome import CallOutcome
from voicebot.storage import models as m
from voicebot.storage.db import make_engine, session_factory
from voicebot.wiring import simulated_voice_runner


def test_demo_calls_run_over_audio_with_a_real_model(tmp_path: Path) -> None:
    settings = Settings(
        speech=SpeechConfig(language="ko", tts_cache_dir=tmp_path / "tts"),
        recordings=RecordingsConfig(dir=tmp_path / "recordings"),
    )
    plan = load_dialplan(DEFAULT_DIALPLAN)
    result = asyncio.run(
        run_demo(
            plan,
            database=tmp_path / "voice.sqlite3",
            debtors=2,
            today=date(2026, 11, 23),
            runner_factory=simulated_voice_runner(settings, plan),
            mode="voice",
        )
    )
    assert result.calls == 2
    for _debtor, outcome in result.results:
        assert isinstance(outcome, CallOutcome)
        bot = [t for t in outcome.transcript if t.speaker == "bot"]
        heard = [t for t in outcome.transcript if t.speaker == "debtor"]
        assert bot[0].prompt == "greeting"
        # The Spanish answers reach the recognizer as audio; a Korean model hears something else,
        # so no debt is disclosed to an unverified speaker and the call ends politely.
        assert heard and not outcome.disclosure_made
        assert outcome.ended_at > outcome.started_at
    assert sum(s["kpis"]["attempts"] for s in result.statuses) == 2
    # The simulated voice line records too: every answered call has a complete recording.
    engine = make_engine(f"sqlite:///{tmp_path / 'voice.sqlite3'}")
    with session_factory(engine)() as s:
        rows = s.scalars(select(m.Recording)).all()
        outcomes = dict(
            s.execute(select(m.CallRecord.attempt_id, m.CallRecord.recording_path)).all()
        )
    engine.dispose()
    # Each outcome points to its recording, stored before the outcome was committed.
    assert {r.attempt_id: f"local:{r.key}" for r in rows} == outcomes
    for row in rows:
        assert row.status == "complete" and row.duration_ms and row.sha256
        assert (tmp_path / "recordings" / row.key).stat().st_size == row.size_bytes
