"""The audio dialog port on the simulated line with real Vosk recognition and espeak-ng voices."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest

from voicebot.actions import Listen, ListenMode, RecognitionHints, Say
from voicebot.engine.audio_port import AudioDialogPort, PortSettings
from voicebot.events import Dtmf, Hangup, NoInput, Utterance
from voicebot.speech.tts_cache import TtsCache
from voicebot.speech.tts_espeak import EspeakSynthesizer
from voicebot.speech.vosk_asr import VoskSpeechModel
from voicebot.telephony.simulated import (
    DebtorScript,
    DebtorTurn,
    HangUp,
    LineConditions,
    Press,
    Silent,
    SimulatedCarrier,
    SimulatedLeg,
    Speak,
)

pytestmark = pytest.mark.slow

GREETING = Say(
    "greeting", "Buenos días, le llamamos de Gestión Integral de Cartera. ¿Hablo con Carlos Pérez?"
)
LONG = Say(
    "disclosure",
    "Le informamos que su tarjeta de crédito del Banco Andino presenta un saldo vencido de un millón "
    "doscientos mil pesos, con cuarenta y cinco días de mora.",
)
YES_NO = RecognitionHints(
    phrases=("sí", "no"),
    keywords=(("네", "affirm"), ("예", "affirm"), ("아니요", "deny"), ("아니오", "deny")),
    expect=("yes_no",),
)
LISTEN = Listen(ListenMode.SPEECH, timeout_s=4.0, hints=YES_NO)


async def _call(
    ko_model: VoskSpeechModel,
    bot_voice: TtsCache,
    debtor: EspeakSynthesizer,
    turns: tuple[DebtorTurn, ...],
    says: list[Say],
    listen: Listen = LISTEN,
    line: LineConditions | None = None,
) -> tuple[AudioDialogPort, SimulatedLeg, object]:
    carrier = SimulatedCarrier(
        {"1": DebtorScript(turns, line=line or LineConditions(noise_dbfs=-60.0, seed=4))},
        debtor_voice=debtor,
    )
    leg = await carrier.dial("1")
    assert isinstance(leg, SimulatedLeg)
    recognizer = ko_model.new_call()
    port = AudioDialogPort(leg, recognizer, bot_voice, clock=leg.clock)
    try:
        for say in says:
            await port.say(say)
        result = await port.listen(listen)
    finally:
        recognizer.close()
    return port, leg, result


def test_answer_after_the_prompt_is_recognized(ko_model, bot_voice, korean_debtor) -> None:  # type: ignore[no-untyped-def]
    port, leg, result = asyncio.run(
        _call(ko_model, bot_voice, korean_debtor, (Speak(text="네", delay_ms=400),), [GREETING])
    )
    assert isinstance(result, Utterance)
    assert result.intent == "affirm"
    # The whole greeting reached the debtor, uncut, and the answer came after it.
    assert len(leg.heard) == 1 and not leg.heard[0].cut
    assert leg.heard[0].pcm.size / 8000 == pytest.approx(port.says[0].audio_s, abs=0.02)
    timing = port.listens[0]
    turn = leg.turns[0]
    assert turn.started_ms == leg.heard[0].end_ms + 400
    assert timing.barge_in_at_ms is None
    assert (
        timing.speech_start_ms is not None and abs(timing.speech_start_ms - turn.started_ms) <= 120
    )
    assert timing.speech_end_ms is not None and turn.ended_ms is not None
    assert abs(timing.speech_end_ms - turn.ended_ms) <= 120
    assert timing.endpoint_wait_ms == 300
    assert result.at == leg.clock()


def test_barge_in_stops_the_prompt_and_keeps_the_first_syllable(
    ko_model, bot_voice, korean_debtor
) -> None:  # type: ignore[no-untyped-def]
    port, leg, result = asyncio.run(
        _call(
            ko_model,
            bot_voice,
            korean_debtor,
            (Speak(text="아니요", barge_in_after_ms=1500),),
            [LONG],
        )
    )
    assert isinstance(result, Utterance)
    assert result.intent == "deny"  # recognized from its start: the pre-roll carried the onset
    turn = leg.turns[0]
    assert turn.started_ms == 1500
    assert leg.heard[0].cut
    # Playback stopped 200 ms of sustained voice after the debtor began (plus onset slack).
    stopped_after = leg.clears_ms[0] - turn.started_ms
    assert 200 <= stopped_after <= 320, stopped_after
    assert leg.heard[0].end_ms == leg.clears_ms[0]
    assert port.listens[0].barge_in_at_ms == leg.clears_ms[0]


def test_a_click_over_the_prompt_does_not_stop_it(ko_model, bot_voice, korean_debtor) -> None:  # type: ignore[no-untyped-def]
    click = np.zeros(400, np.int16)
    click[:60] = 28000
    port, leg, result = asyncio.run(
        _call(
            ko_model,
            bot_voice,
            korean_debtor,
            (Speak(audio=click, barge_in_after_ms=800),),
            [GREETING],
            Listen(ListenMode.SPEECH, timeout_s=1.0, hints=YES_NO),
        )
    )
    assert isinstance(result, NoInput)
    assert not leg.heard[0].cut and leg.clears_ms == []
    # No-input counts from the end of the prompt, not from the start of listen.
    assert port.line_ms == pytest.approx(leg.heard[0].end_ms + 1000, abs=20)


def test_a_non_interruptible_prompt_plays_to_the_end(ko_model, bot_voice, korean_debtor) -> None:  # type: ignore[no-untyped-def]
    disclosure = Say(LONG.prompt, LONG.text, barge_in=False, discloses_debt=True)
    _, leg, result = asyncio.run(
        _call(
            ko_model,
            bot_voice,
            korean_debtor,
            (Speak(text="아니요", barge_in_after_ms=1000), Speak(text="네", delay_ms=300)),
            [disclosure],
        )
    )
    assert not leg.heard[0].cut
    assert leg.clears_ms == []
    # The words spoken over the protected prompt were not heard; the answer after it was.
    assert isinstance(result, Utterance) and result.intent == "affirm"


def test_a_key_interrupts_and_digits_are_collected_until_hash(
    ko_model, bot_voice, korean_debtor
) -> None:  # type: ignore[no-untyped-def]
    port, leg, result = asyncio.run(
        _call(
            ko_model,
            bot_voice,
            korean_debtor,
            (Press("1234#", barge_in_after_ms=600, gap_ms=150),),
            [GREETING],
            Listen(ListenMode.BOTH, timeout_s=5.0, hints=YES_NO, max_digits=6),
        )
    )
    assert isinstance(result, Dtmf) and result.digits == "1234"
    assert leg.clears_ms == [600]
    assert port.listens[0].barge_in_at_ms == 600


def test_max_digits_ends_collection(ko_model, bot_voice, korean_debtor) -> None:  # type: ignore[no-untyped-def]
    _, _, result = asyncio.run(
        _call(
            ko_model,
            bot_voice,
            korean_debtor,
            (Press("98765", delay_ms=200),),
            [GREETING],
            Listen(ListenMode.DTMF, timeout_s=5.0, max_digits=4),
        )
    )
    assert isinstance(result, Dtmf) and result.digits == "9876"


def test_silence_gives_no_input_at_the_timeout(ko_model, bot_voice, korean_debtor) -> None:  # type: ignore[no-untyped-def]
    port, leg, result = asyncio.run(
        _call(
            ko_model,
            bot_voice,
            korean_debtor,
            (Silent(),),
            [GREETING],
            line=LineConditions(-45.0, 9),
        )
    )
    assert isinstance(result, NoInput)
    assert port.line_ms == pytest.approx(leg.heard[0].end_ms + 4000, abs=20)
    assert result.at == leg.clock()


def test_far_end_hangup_ends_the_turn(ko_model, bot_voice, korean_debtor) -> None:  # type: ignore[no-untyped-def]
    _, leg, result = asyncio.run(
        _call(ko_model, bot_voice, korean_debtor, (HangUp(delay_ms=500),), [GREETING])
    )
    assert isinstance(result, Hangup)
    assert leg.debtor_hung_up_ms == leg.heard[0].end_ms + 500


def test_real_spanish_speech_on_a_noisy_line_is_endpointed(
    ko_model, bot_voice, korean_debtor, sounds: Path
) -> None:  # type: ignore[no-untyped-def]
    """Mexican-Spanish human speech: the Korean model cannot transcribe it, but the turn must end on time."""
    port, leg, result = asyncio.run(
        _call(
            ko_model,
            bot_voice,
            korean_debtor,
            (Speak.wav(sounds / "vm-goodbye.wav", delay_ms=300),),
            [GREETING],
            Listen(ListenMode.SPEECH, timeout_s=4.0),
            line=LineConditions(noise_dbfs=-50.0, seed=2),
        )
    )
    timing = port.listens[0]
    turn = leg.turns[0]
    assert isinstance(result, Utterance | NoInput)
    assert timing.speech_end_ms is not None and turn.ended_ms is not None
    assert abs(timing.speech_end_ms - turn.ended_ms) <= 150
    assert timing.endpoint_at_ms is not None
    assert (
        timing.endpoint_at_ms - turn.ended_ms <= PortSettings().endpoint.trailing_silence_ms + 150
    )


def test_barge_in_timing_on_real_spanish_speech(
    ko_model, bot_voice, korean_debtor, sounds: Path
) -> None:  # type: ignore[no-untyped-def]
    """A Mexican-Spanish recording talked over the prompt: playback stops ~200 ms into it."""
    for seed, (name, after_ms) in enumerate(
        [("vm-goodbye", 700), ("agent-loginok", 1500), ("auth-thankyou", 2300)]
    ):
        port, leg, _ = asyncio.run(
            _call(
                ko_model,
                bot_voice,
                korean_debtor,
                (Speak.wav(sounds / f"{name}.wav", barge_in_after_ms=after_ms),),
                [LONG],
                Listen(ListenMode.SPEECH, timeout_s=1.0),
                line=LineConditions(noise_dbfs=-55.0, seed=seed),
            )
        )
        turn = leg.turns[0]
        assert turn.started_ms == after_ms
        assert leg.heard[0].cut, name
        stopped_after = leg.clears_ms[0] - turn.started_ms
        assert 200 <= stopped_after <= 320, (name, stopped_after)
        assert port.listens[0].speech_start_ms is not None
        assert abs(port.listens[0].speech_start_ms - turn.started_ms) <= 60, name


def test_the_port_keeps_up_with_a_real_time_line(ko_model, bot_voice, korean_debtor) -> None:  # type: ignore[no-untyped-def]
    async def run() -> tuple[AudioDialogPort, SimulatedLeg, object, float]:
        carrier = SimulatedCarrier(
            {"1": DebtorScript((Speak(text="네", delay_ms=200),))},
            debtor_voice=korean_debtor,
            realtime=True,
        )
        leg = await carrier.dial("1")
        assert isinstance(leg, SimulatedLeg)
        recognizer = ko_model.new_call()
        port = AudioDialogPort(leg, recognizer, bot_voice, clock=leg.clock)
        started = time.monotonic()
        await port.say(Say("hello", "Hola."))
        result = await port.listen(LISTEN)
        recognizer.close()
        return port, leg, result, time.monotonic() - started

    port, _, result, wall_s = asyncio.run(run())
    assert isinstance(result, Utterance) and result.intent == "affirm"
    # The line is never ahead of the wall clock, and the bot fell behind it only by
    # its final recognition (generous bound: CI shares two cores with other suites).
    assert port.line_ms / 1000 <= wall_s + 0.03
    assert wall_s - port.line_ms / 1000 < 0.5


def test_a_hissing_line_does_not_barge_into_the_greeting(
    ko_model, bot_voice, korean_debtor
) -> None:  # type: ignore[no-untyped-def]
    """Loud line noise from the first frame is the floor, not a debtor talking over the bot."""
    _, leg, result = asyncio.run(
        _call(
            ko_model,
            bot_voice,
            korean_debtor,
            (Silent(),),
            [GREETING],
            Listen(ListenMode.SPEECH, timeout_s=1.0, hints=YES_NO),
            line=LineConditions(noise_dbfs=-40.0, seed=21),
        )
    )
    assert leg.clears_ms == [] and not leg.heard[0].cut
    assert isinstance(result, NoInput)


def test_keys_over_a_non_interruptible_prompt_are_dropped(
    ko_model, bot_voice, korean_debtor
) -> None:  # type: ignore[no-untyped-def]
    disclosure = Say(LONG.prompt, LONG.text, barge_in=False, discloses_debt=True)
    _, leg, result = asyncio.run(
        _call(
            ko_model,
            bot_voice,
            korean_debtor,
            (Press("5", barge_in_after_ms=800),),
            [disclosure],
            Listen(ListenMode.BOTH, timeout_s=1.0, hints=YES_NO),
        )
    )
    assert leg.clears_ms == [] and not leg.heard[0].cut
    assert isinstance(result, NoInput)
