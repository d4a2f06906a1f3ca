"""A whole collections call over audio: the default dialplan, the audio port, the simulated line."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path

import pytest

from voicebot.data import DEFAULT_DIALPLAN
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.domain.context import CallContext, context_from_json
from voicebot.domain.outcome import CallOutcome, Disposition
from voicebot.engine.audio_port import AudioDialogPort
from voicebot.engine.call_loop import run_call
from voicebot.speech.tts_cache import TtsCache
from voicebot.speech.tts_espeak import EspeakSynthesizer
from voicebot.speech.vosk_asr import VoskSpeechModel
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


def _context() -> CallContext:
    """The README's example debtor (examples/debtor.json)."""
    data = json.loads((ROOT / "examples" / "debtor.json").read_text(encoding="utf-8"))
    return context_from_json(data, today=date(2026, 11, 23))


def _run(
    ko_model: VoskSpeechModel,
    bot: TtsCache,
    debtor: EspeakSynthesizer,
    turns: tuple[DebtorTurn, ...],
) -> tuple[CallOutcome, SimulatedLeg, AudioDialogPort]:
    async def call() -> tuple[CallOutcome, SimulatedLeg, AudioDialogPort]:
        script = DebtorScript(turns, line=LineConditions(noise_dbfs=-55.0, seed=11))
        leg = await SimulatedCarrier({"573001112233": script}, debtor_voice=debtor).dial(
            "573001112233"
        )
        assert isinstance(leg, SimulatedLeg)
        recognizer = ko_model.new_call()
        try:
            port = AudioDialogPort(leg, recognizer, bot, clock=leg.clock)
            plan = load_dialplan(DEFAULT_DIALPLAN)
            outcome = await run_call(plan, _context(), port, clock=leg.clock)
        finally:
            recognizer.close()
        return outcome, leg, port

    return asyncio.run(call())


def test_verified_debtor_hears_the_disclosure_then_hangs_up(
    ko_model, bot_voice, korean_debtor
) -> None:  # type: ignore[no-untyped-def]
    outcome, leg, port = _run(
        ko_model,
        bot_voice,
        korean_debtor,
        (Speak(text="네", delay_ms=400), Press("1234", delay_ms=600), HangUp(delay_ms=1500)),
    )
    assert outcome.disposition is Disposition.RPC
    assert outcome.right_party_contacted and outcome.disclosure_made
    said = [s.prompt for s in port.says]
    assert said[:3] == ["greeting", "verify_document", "disclosure"]
    # Every prompt's audio reached the debtor in full, in order.
    assert len(leg.heard) == len(port.says)
    for heard, say in zip(leg.heard, port.says, strict=True):
        assert heard.pcm.size / 8000 == pytest.approx(say.audio_s, abs=0.02)
        assert not heard.cut
    assert outcome.ended_at == leg.clock()


def test_denial_barged_into_the_greeting_goes_to_the_third_party_branch(
    ko_model, bot_voice, korean_debtor
) -> None:  # type: ignore[no-untyped-def]
    outcome, leg, port = _run(
        ko_model,
        bot_voice,
        korean_debtor,
        (Speak(text="아니요", barge_in_after_ms=1200), HangUp(delay_ms=800)),
    )
    assert leg.heard[0].cut
    assert [s.prompt for s in port.says][:2] == ["greeting", "ask_knows_debtor"]
    assert not outcome.disclosure_made
    assert outcome.disposition is not Disposition.RPC
