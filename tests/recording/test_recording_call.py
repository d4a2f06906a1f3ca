"""Recorded calls on the simulated voice line: both channels, the timeline, the notice, the row."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from recording_world import migrated_sessions, seed_attempt

from voicebot.audio.wav import read_wav
from voicebot.data import DEFAULT_DIALPLAN
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.domain.context import CallContext, context_from_json
from voicebot.domain.outcome import CallOutcome
from voicebot.domain.pcm import LINE_RATE
from voicebot.engine.carrier_runner import CarrierCallRunner
from voicebot.engine.dialer import DialRequest
from voicebot.recording.notice import notice_text
from voicebot.recording.service import CallRecordings, settle_interrupted
from voicebot.recording.store import LocalStore
from voicebot.speech.tts_cache import TtsCache
from voicebot.speech.vosk_asr import VoskSpeechModel
from voicebot.storage import models as m
from voicebot.storage.repositories import record_outcome
from voicebot.telephony.simulated import (
    DebtorScript,
    DebtorTurn,
    HangUp,
    LineConditions,
    Press,
    SimulatedCarrier,
    SimulatedLeg,
    Speak,
)

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
PHONE = "573001112233"


def _context() -> CallContext:
    data = json.loads((ROOT / "examples" / "debtor.json").read_text(encoding="utf-8"))
    return context_from_json(data, today=date(2026, 11, 23))


def _correlation(a: np.ndarray, b: np.ndarray) -> float:  # type: ignore[type-arg]
    a, b = a.astype(np.float64), b.astype(np.float64)
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))


def _record(
    tmp_path: Path,
    model: VoskSpeechModel,
    voice: TtsCache,
    turns: tuple[DebtorTurn, ...],
    **seed: object,
) -> tuple[CallOutcome, SimulatedLeg, m.Recording, Path]:
    sessions = migrated_sessions(tmp_path)
    seeded = seed_attempt(sessions, **seed)  # type: ignore[arg-type]
    store = LocalStore(tmp_path / "recordings")
    recordings = CallRecordings(sessions, store)
    script = DebtorScript(turns, line=LineConditions(noise_dbfs=-60.0, seed=3))
    carrier = SimulatedCarrier({PHONE: script})
    legs: list[SimulatedLeg] = []

    class Watching:
        async def dial(self, number: str, **kwargs: object) -> object:
            leg = await carrier.dial(number)
            assert isinstance(leg, SimulatedLeg)
            legs.append(leg)
            return leg

    plan = load_dialplan(DEFAULT_DIALPLAN)
    runner = CarrierCallRunner(plan, Watching(), model, voice, recordings=recordings)  # type: ignore[arg-type]
    result = asyncio.run(runner.run(DialRequest(seeded.attempt_id, PHONE, _context())))
    assert isinstance(result, CallOutcome)
    with sessions() as s:
        row = s.query(m.Recording).filter_by(attempt_id=seeded.attempt_id).one()
        s.expunge(row)
    return result, legs[0], row, store.path(row.key)


def test_both_channels_line_up_with_what_each_side_said(
    tmp_path: Path, ko_model, bot_voice, sounds
) -> None:  # type: ignore[no-untyped-def]
    known = read_wav(sounds / "auth-thankyou.wav", LINE_RATE)
    outcome, leg, row, path = _record(
        tmp_path,
        ko_model,
        bot_voice,
        (Speak(audio=known, delay_ms=400), HangUp(delay_ms=1500)),
    )
    # The row: durable, hashed, described; the file is named by no debtor data.
    assert row.status == "complete"
    data = path.read_bytes()
    assert row.sha256 == hashlib.sha256(data).hexdigest() and row.size_bytes == len(data)
    assert "Ana" not in row.key and "573" not in row.key and row.key.endswith(".flac")
    audio, rate = sf.read(path, dtype="int16")
    assert rate == LINE_RATE and audio.shape[1] == 2
    assert row.duration_ms == 1000 * audio.shape[0] // LINE_RATE
    # The file's timeline is the line's: one sample per sample the line delivered (the frame
    # in which the debtor hung up never reaches the bot).
    assert leg.now_ms * LINE_RATE // 1000 - audio.shape[0] in (0, 160)
    bot, far = audio[:, 0], audio[:, 1]

    # Far end: the debtor's known WAV, at the moment the debtor said it.
    said = leg.turns[0]
    start = said.started_ms * LINE_RATE // 1000
    heard_back = far[start : start + known.size]
    assert _correlation(heard_back, known) > 0.9

    # Bot channel: each prompt where the debtor heard it (G.711 on the line, so not bit-exact).
    for heard in leg.heard:
        first = heard.start_ms * LINE_RATE // 1000
        assert _correlation(bot[first : first + heard.pcm.size], heard.pcm) > 0.95
    # Silence on the bot's side while nothing played.
    gap = leg.heard[0].end_ms * LINE_RATE // 1000
    assert np.abs(bot[gap : gap + 800]).max() == 0

    # Turn times on the file's timeline: each turn's offset is where it happened on the line.
    assert [mark["turn"] for mark in row.timeline] == list(range(len(outcome.transcript)))
    debtor_marks = [mk for mk in row.timeline if mk["speaker"] == "debtor"]
    assert debtor_marks, outcome.transcript
    # The utterance is stamped when recognised: after the debtor started, within the turn.
    assert said.started_ms <= debtor_marks[0]["offset_ms"] <= said.started_ms + 4000
    assert row.timeline[0] == {"turn": 0, "speaker": "bot", "offset_ms": 0}


def test_a_california_debtor_hears_the_recording_notice_first(
    tmp_path: Path, ko_model, bot_voice
) -> None:  # type: ignore[no-untyped-def]
    _, leg, row, path = _record(
        tmp_path,
        ko_model,
        bot_voice,
        (Press("1", delay_ms=300), HangUp(delay_ms=500)),
        jurisdiction="US",
        region="US-CA",
    )
    assert row.notice and "632" in row.notice_rule
    notice = bot_voice.synthesize(notice_text(_context().company))
    first = leg.heard[0]
    # The notice is the first thing on the line, whole (no barge-in), before the greeting.
    assert first.start_ms == 0
    assert first.pcm.size >= notice.size
    assert _correlation(first.pcm[: notice.size], notice) > 0.95
    audio, _ = sf.read(path, dtype="int16")
    assert _correlation(audio[: notice.size, 0], notice) > 0.95


def test_a_colombian_debtor_gets_no_notice_unless_the_campaign_asks(
    tmp_path: Path, ko_model, bot_voice
) -> None:  # type: ignore[no-untyped-def]
    _, _, plain, _ = _record(
        tmp_path / "plain", ko_model, bot_voice, (HangUp(delay_ms=300),), region="CO"
    )
    assert not plain.notice
    _, _, asked, _ = _record(
        tmp_path / "asked",
        ko_model,
        bot_voice,
        (HangUp(delay_ms=300),),
        region="CO",
        recording_policy={"notice": True, "retention_days": 1825},
    )
    assert asked.notice and asked.notice_rule == "campaign recording_policy.notice"
    assert asked.retention_days == 1825
    assert (asked.retain_until - asked.started_at).days == 1825


def test_a_store_that_cannot_write_never_costs_the_call_its_outcome(
    tmp_path: Path, ko_model, bot_voice
) -> None:  # type: ignore[no-untyped-def]
    sessions = migrated_sessions(tmp_path)
    seeded = seed_attempt(sessions)
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the store's directory should be", encoding="utf-8")
    recordings = CallRecordings(sessions, LocalStore(blocked))
    carrier = SimulatedCarrier({PHONE: DebtorScript((Press("1", delay_ms=300), HangUp()))})
    plan = load_dialplan(DEFAULT_DIALPLAN)
    runner = CarrierCallRunner(plan, carrier, ko_model, bot_voice, recordings=recordings)
    result = asyncio.run(runner.run(DialRequest(seeded.attempt_id, PHONE, _context())))
    assert isinstance(result, CallOutcome) and result.transcript
    with sessions.begin() as s:
        s.get_one(m.CallAttempt, seeded.attempt_id).status = "done"
    settled = settle_interrupted(sessions, LocalStore(blocked), now=result.ended_at, actor="t")
    with sessions.begin() as s:
        row = s.query(m.Recording).filter_by(attempt_id=seeded.attempt_id).one()
        assert settled == [row.id] and row.status == "lost"
        # The outcome does not point to a file that was never written.
        assert (
            record_outcome(
                s, attempt_id=seeded.attempt_id, outcome=result, actor="t"
            ).recording_path
            is None
        )
