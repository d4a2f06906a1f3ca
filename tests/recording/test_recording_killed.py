"""A worker killed mid-call leaves a playable partial recording, and the row that points to it."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from recording_world import CALL_START, migrated_sessions, seed_attempt
from sqlalchemy import select

from voicebot.audio.wav import read_wav
from voicebot.domain.outcome import CallOutcome, Disposition
from voicebot.domain.pcm import LINE_RATE
from voicebot.engine.hopper import reap_expired_leases
from voicebot.recording.service import CallRecordings, settle_interrupted
from voicebot.recording.store import LocalStore
from voicebot.storage import models as m
from voicebot.storage.repositories import record_outcome
from voicebot.telephony.carrier import FarEndHangup
from voicebot.telephony.simulated import DebtorScript, HangUp, SimulatedCarrier, SimulatedLeg

HERE = Path(__file__).parent


def test_a_killed_worker_leaves_a_playable_partial_file(tmp_path: Path, sounds: Path) -> None:
    if shutil.which("sox") is None:
        pytest.skip("apt-get install sox (libFLAC decoder used to settle partial files)")
    sessions = migrated_sessions(tmp_path)
    seeded = seed_attempt(sessions)
    with sessions.begin() as s:
        attempt = s.get_one(m.CallAttempt, seeded.attempt_id)
        attempt.claimed_by, attempt.lease_expires_at = "doomed", CALL_START + timedelta(minutes=2)
    url = str(sessions.kw["bind"].url)
    root = tmp_path / "recordings"
    wav = sounds / "auth-thankyou.wav"
    worker = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "killed_recorder.py"),
            url,
            str(root),
            str(seeded.attempt_id),
            str(wav),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = worker.stdout.readline() if worker.stdout else ""
        assert line.startswith("flushed "), line
        key = line.split()[1]
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    store = LocalStore(root)
    raw = store.path(key)
    # As the worker left it: a FLAC stream of "unknown" length that a libFLAC decoder plays.
    decoded = subprocess.run(
        ["sox", str(raw), "-n", "stat"], capture_output=True, text=True, check=True
    )
    assert "Length (seconds):" in decoded.stderr
    with sessions() as s:
        row = s.scalar(select(m.Recording).where(m.Recording.attempt_id == seeded.attempt_id))
        assert row is not None and row.status == "recording" and row.key == key

    # The worker's lease runs out: the reaper requeues the attempt, the recording is settled.
    later = CALL_START + timedelta(hours=1)
    assert reap_expired_leases(sessions, now=later, actor="reaper") == 1
    assert settle_interrupted(sessions, store, now=later, actor="reaper") == [row.id]
    assert settle_interrupted(sessions, store, now=later, actor="reaper") == []  # once
    with sessions() as s:
        row = s.get_one(m.Recording, row.id)
        # What was flushed, less the encoder's unfinished block (4096 samples at most).
        assert row.status == "partial"
        assert 3000 - 4096 * 1000 // LINE_RATE <= (row.duration_ms or 0) <= 3000
        audit = s.scalar(select(m.AuditEntry).where(m.AuditEntry.action == "recording_interrupted"))
        assert audit is not None and audit.attempt_id == seeded.attempt_id
    audio, rate = sf.read(raw, dtype="int16")
    assert rate == LINE_RATE and audio.shape == (row.duration_ms * LINE_RATE // 1000, 2)
    known = read_wav(wav, LINE_RATE)[: audio.shape[0] - 160].astype(np.float64)
    far = audio[160 : 160 + known.size, 1].astype(np.float64)
    assert np.dot(far, known) / (np.linalg.norm(far) * np.linalg.norm(known)) > 0.9
    assert np.abs(audio[:, 0]).max() > 2000  # the bot's tone is on its channel

    # The requeued attempt is dialled again by another worker: that try is recorded too, and
    # the outcome points to it (the interrupted try's partial file stays, audited).
    async def again() -> str:
        leg = await SimulatedCarrier({"1": DebtorScript((HangUp(delay_ms=0),))}).dial("1")
        assert isinstance(leg, SimulatedLeg)
        recordings = CallRecordings(sessions, store)
        active = recordings.start(seeded.attempt_id, leg, later)
        await active.leg.send_audio(np.zeros(1600, dtype=np.int16))
        while not isinstance(await active.leg.receive(), FarEndHangup):
            pass
        await recordings.finish(active, (), later)
        return active.key

    second = asyncio.run(again())
    outcome = CallOutcome(Disposition.DROP, later, later)
    with sessions.begin() as s:
        stored = record_outcome(s, attempt_id=seeded.attempt_id, outcome=outcome, actor="t2")
        assert stored.recording_path == f"local:{second}"
        statuses = s.scalars(
            select(m.Recording.status)
            .where(m.Recording.attempt_id == seeded.attempt_id)
            .order_by(m.Recording.id)
        ).all()
    assert statuses == ["partial", "complete"]
