"""Inbound calls recorded like dials: the notice first to every caller, the row once identified.

A caller on the simulated voice line calls the callback number (the listener's real handler,
the real Korean Vosk model, espeak-ng): who they are is unknown when the call is answered, so
the recording notice is the first thing every caller hears; once the document identifies
them, the recording is filed under their inbound call, complete and hashed at the end. A
caller never identified leaves no file.
"""

from __future__ import annotations

import asyncio
import hashlib
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from recording_world import migrated_sessions
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voicebot.data import INBOUND_DIALPLAN
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.engine.ivr import InboundAnswering
from voicebot.recording.notice import NOTICE_PROMPT, notice_text
from voicebot.recording.service import INBOUND_NOTICE_RULE, CallRecordings
from voicebot.recording.store import LocalStore
from voicebot.speech.tts_cache import TtsCache
from voicebot.speech.vosk_asr import VoskSpeechModel
from voicebot.storage import models as m
from voicebot.telephony.carrier import IncomingCall
from voicebot.telephony.simulated import (
    DebtorScript,
    DebtorTurn,
    HangUp,
    Press,
    SimulatedCarrier,
    SimulatedLeg,
)

pytestmark = pytest.mark.slow
STRANGER = "+573009998877"
COMPANY = "Gestión Integral de Cartera"


def correlation(a: np.ndarray, b: np.ndarray) -> float:  # type: ignore[type-arg]
    a, b = a.astype(np.float64), b.astype(np.float64)
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))


def seed(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as s:
        campaign = m.Campaign(
            name="cartera",
            dialplan="cobranza_es",
            jurisdiction="CO",
            default_region="CO",
            company=COMPANY,
            callback_number="6015550100",
        )
        debtor = m.Debtor(
            external_id="ana", full_name="Ana Pérez Gómez", document_id="52.111.234", region="CO"
        )
        s.add_all([campaign, debtor])
        s.flush()
        s.add(
            m.Debt(
                debtor_id=debtor.id,
                external_ref="a-1",
                creditor="Banco Andino",
                amount=Decimal(900000),
                currency="COP",
                days_past_due=40,
            )
        )
        s.add(m.CampaignDebtor(campaign_id=campaign.id, debtor_id=debtor.id))
        return debtor.id


def call_in(
    tmp_path: Path,
    model: VoskSpeechModel,
    voice: TtsCache,
    turns: tuple[DebtorTurn, ...],
) -> tuple[InboundAnswering, SimulatedLeg, sessionmaker[Session], LocalStore]:
    sessions = migrated_sessions(tmp_path)
    seed(sessions)
    store = LocalStore(tmp_path / "recordings")
    answering = InboundAnswering(
        load_dialplan(INBOUND_DIALPLAN),
        model,
        voice,
        sessions,
        company=COMPANY,
        callback_number="6015550100",
        recordings=CallRecordings(sessions, store, actor="ivr-test"),
    )
    carrier = SimulatedCarrier({STRANGER: DebtorScript(turns)})

    async def ring() -> SimulatedLeg:
        leg = await carrier.dial(STRANGER)
        assert isinstance(leg, SimulatedLeg)
        await answering.handle(IncomingCall(leg, STRANGER, "6015550100"))
        return leg

    leg = asyncio.run(ring())
    return answering, leg, sessions, store


def test_an_identified_callers_call_is_recorded_under_it_after_the_notice(
    tmp_path: Path, ko_model: VoskSpeechModel, bot_voice: TtsCache
) -> None:
    answering, leg, sessions, store = call_in(
        tmp_path,
        ko_model,
        bot_voice,
        (Press("52111234#", delay_ms=300), Press("3", delay_ms=300), HangUp(delay_ms=500)),
    )
    (served,) = answering.served
    assert served.attempt_id is not None
    notice = bot_voice.synthesize(notice_text(COMPANY))
    first = leg.heard[0]
    assert first.start_ms == 0  # the notice, whole, before the dialog's first word
    assert first.pcm.size >= notice.size
    assert correlation(first.pcm[: notice.size], notice) > 0.95
    with sessions() as s:
        row = s.scalars(select(m.Recording)).one()
        attempt = s.get_one(m.CallAttempt, served.attempt_id)
        assert (row.attempt_id, attempt.direction) == (served.attempt_id, "inbound")
        assert row.status == "complete" and row.notice
        assert row.notice_rule == INBOUND_NOTICE_RULE  # CO asks none: given to every caller
        path = store.path(row.key)
        assert row.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        audio, _ = sf.read(path, dtype="int16")
        assert correlation(audio[: notice.size, 0], notice) > 0.95  # the file starts with it
        assert row.ended_at is not None and row.ended_at >= row.started_at
    prompts = [t.prompt for t in served.outcome.transcript if t.speaker == "bot"]
    assert prompts[0] == "ask_document" and NOTICE_PROMPT not in prompts


def test_a_caller_never_identified_leaves_no_recording(
    tmp_path: Path, ko_model: VoskSpeechModel, bot_voice: TtsCache
) -> None:
    answering, _, sessions, store = call_in(
        tmp_path,
        ko_model,
        bot_voice,
        (Press("1#", delay_ms=300), HangUp(delay_ms=500)),
    )
    (served,) = answering.served
    assert served.attempt_id is None
    with sessions() as s:
        assert s.scalars(select(m.Recording)).all() == []
    assert [p for p in store.root.rglob("*") if p.is_file()] == []  # the spool file is gone
