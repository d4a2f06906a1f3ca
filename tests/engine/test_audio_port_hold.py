"""The audio port when the debtor puts the call on hold: the bot pauses, then goes on."""

from __future__ import annotations

import asyncio

import pytest

from voicebot.actions import Listen, ListenMode, Say
from voicebot.engine.audio_port import AudioDialogPort
from voicebot.events import Dtmf, NoInput
from voicebot.speech.tts_cache import TtsCache
from voicebot.speech.vosk_asr import VoskSpeechModel
from voicebot.telephony.simulated import (
    DebtorScript,
    DebtorTurn,
    Hold,
    LineConditions,
    Press,
    Silent,
    SimulatedCarrier,
    SimulatedLeg,
)

pytestmark = pytest.mark.slow

PROMPT = Say("menu", "Para pagar hoy marque uno. Para hablar con un asesor marque dos.")
HOLD_MS = 3000


async def _call(
    ko_model: VoskSpeechModel, bot_voice: TtsCache, turns: tuple[DebtorTurn, ...], listen: Listen
) -> tuple[AudioDialogPort, SimulatedLeg, object]:
    script = DebtorScript(turns, line=LineConditions(noise_dbfs=-60.0, seed=4))
    carrier = SimulatedCarrier({"1": script})
    leg = await carrier.dial("1")
    assert isinstance(leg, SimulatedLeg)
    recognizer = ko_model.new_call()
    port = AudioDialogPort(leg, recognizer, bot_voice, clock=leg.clock)
    try:
        await port.say(PROMPT)
        result = await port.listen(listen)
    finally:
        recognizer.close()
    return port, leg, result


def test_hold_mid_prompt_pauses_the_prompt_and_the_no_input_timer(ko_model, bot_voice) -> None:  # type: ignore[no-untyped-def]
    port, leg, result = asyncio.run(
        _call(
            ko_model,
            bot_voice,
            (Hold(HOLD_MS, barge_in_after_ms=1000), Silent()),
            Listen(ListenMode.DTMF, timeout_s=2.0),
        )
    )
    assert isinstance(result, NoInput)
    assert port.held_ms == HOLD_MS
    # The prompt was paused, not cut: it reached the debtor whole, in two parts around the hold.
    assert leg.clears_ms == []
    heard_s = sum(part.pcm.size for part in leg.heard) / 8000
    assert heard_s == pytest.approx(port.says[0].audio_s, abs=0.02)
    assert leg.heard[1].start_ms - leg.heard[0].end_ms == pytest.approx(HOLD_MS, abs=20)
    # No-input counted from the end of the prompt, without the hold.
    assert port.line_ms == pytest.approx(leg.heard[-1].end_ms + 2000, abs=20)


def test_keys_after_the_hold_are_heard(ko_model, bot_voice) -> None:  # type: ignore[no-untyped-def]
    port, _leg, result = asyncio.run(
        _call(
            ko_model,
            bot_voice,
            (Hold(HOLD_MS, barge_in_after_ms=500), Press("2", delay_ms=300)),
            Listen(ListenMode.DTMF, timeout_s=2.0, max_digits=1),
        )
    )
    assert isinstance(result, Dtmf) and result.digits == "2"
    assert port.held_ms == HOLD_MS
