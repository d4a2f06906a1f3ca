"""Recorded SIP calls on the loopback bed: baresip debtors play known WAVs, the file must hold them."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import soundfile as sf

from voicebot.actions import TransferContext
from voicebot.domain.pcm import FRAME_SAMPLES, LINE_RATE, Pcm
from voicebot.recording.service import CallRecordings
from voicebot.recording.store import LocalStore
from voicebot.storage import models as m
from voicebot.telephony.carrier import AudioIn, FarEndHangup
from voicebot.telephony.sip import SipCallLeg, SipCarrier
from voicebot.telephony.sip_transfer import warm_transfer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "recording"))
from recording_world import migrated_sessions, seed_attempt

if TYPE_CHECKING:
    from conftest import SipLab

CONTEXT = TransferContext(
    reason="debtor_requested_agent",
    debtor_name="María Pérez",
    summary="Pide hablar con un asesor.",
    transcript=("deudor: un asesor",),
)


def _channels(store: LocalStore, sessions, attempt_id: int) -> tuple[Pcm, Pcm, m.Recording]:  # type: ignore[no-untyped-def]
    with sessions() as s:
        row = s.query(m.Recording).filter_by(attempt_id=attempt_id).one()
        s.expunge(row)
    audio, rate = sf.read(store.path(row.key), dtype="int16")
    assert rate == LINE_RATE and row.status == "complete"
    return audio[:, 0], audio[:, 1], row


def test_the_debtor_channel_holds_the_debtors_wav_and_the_bot_channel_the_prompt(
    sip_lab: SipLab, tmp_path: Path
) -> None:
    sessions = migrated_sessions(tmp_path)
    seeded = seed_attempt(sessions)
    store = LocalStore(tmp_path / "rec")
    recordings = CallRecordings(sessions, store)

    async def scenario() -> None:
        async with SipCarrier(sip_lab.settings()) as carrier:
            leg = await carrier.dial("debtor")
            assert isinstance(leg, SipCallLeg)
            active = recordings.start(seeded.attempt_id, leg, datetime.now(UTC))
            await active.leg.send_audio(sip_lab.prompt)
            frames = 0
            # Line time, not wall time: the debtor speaks at 1 s; keep 2 s after the speech.
            wanted = (
                int((sip_lab.DEBTOR_SPEECH_AT_S + 2.0) * LINE_RATE) + sip_lab.debtor_speech.size
            )
            while frames * FRAME_SAMPLES < wanted:
                item = await active.leg.receive()
                assert not isinstance(item, FarEndHangup)
                frames += isinstance(item, AudioIn)
            await active.leg.hangup()
            await recordings.finish(active, (), datetime.now(UTC))

    asyncio.run(scenario())
    bot, far, row = _channels(store, sessions, seeded.attempt_id)
    score, at = sip_lab.best_match(sip_lab.debtor_speech, far)
    assert score > 0.9, score
    assert abs(at - sip_lab.DEBTOR_SPEECH_AT_S) < 0.3, at  # where it was said on the line
    score, at = sip_lab.best_match(sip_lab.prompt, bot)
    assert score > 0.9 and at < 0.1, (score, at)
    assert sip_lab.best_match(sip_lab.debtor_speech, bot)[0] < 0.4  # the channels stay apart
    assert row.duration_ms == 1000 * far.size // LINE_RATE


def test_a_bridged_transfer_records_the_agent_and_the_debtor(
    sip_lab: SipLab, tmp_path: Path
) -> None:
    sessions = migrated_sessions(tmp_path)
    seeded = seed_attempt(sessions)
    store = LocalStore(tmp_path / "rec")
    recordings = CallRecordings(sessions, store)

    async def scenario() -> None:
        async with SipCarrier(sip_lab.settings()) as sip:
            carrier = sip_lab.DiallingCarrier(sip)
            leg = await sip.dial("xfer-debtor")
            assert isinstance(leg, SipCallLeg)
            active = recordings.start(seeded.attempt_id, leg, datetime.now(UTC))
            at_bridge = sip_lab.line_times_at_bridge(active.leg, carrier)
            hangup = asyncio.create_task(sip_lab.hang_up_once_both_have_spoken(active.leg, carrier))
            outcome = await warm_transfer(
                carrier,  # type: ignore[arg-type]
                active.leg,
                "agent",
                CONTEXT,
                timeout_s=5,
                desk=sip.desk,
                whisper=sip_lab.whisper,
            )
            await hangup
            assert outcome.connected
            await recordings.finish(active, (), datetime.now(UTC))
            sip_lab.assert_bridged_before_either_spoke(at_bridge)

    asyncio.run(scenario())
    bot, far, _ = _channels(store, sessions, seeded.attempt_id)
    assert sip_lab.best_match(sip_lab.debtor_speech, far)[0] > 0.9
    # The agent's voice reached the debtor through the worker: it is on the bot's channel.
    carried, _ = sip_lab.relayed(sip_lab.agent_speech, bot)
    assert carried >= 0.75, carried
    # The whisper was for the agent only: not in the debtor's call, so not in its recording.
    assert sip_lab.best_match(sip_lab.whisper, bot)[0] < 0.4
