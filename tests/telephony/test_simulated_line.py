"""The simulated voice line: scripted debtors answering with real audio, in line time."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest

from voicebot.audio.codec import pcm_to_ulaw, ulaw_to_pcm
from voicebot.audio.vad import frame_dbfs
from voicebot.domain.outcome import Disposition
from voicebot.speech.tts_espeak import EspeakSynthesizer, VoiceSettings
from voicebot.telephony.carrier import AudioIn, DialFailure, DigitIn, FarEndHangup, LineInput
from voicebot.telephony.simulated import (
    DebtorScript,
    HangUp,
    LineConditions,
    Press,
    Silent,
    SimulatedCarrier,
    SimulatedLeg,
    Speak,
)

SOUNDS = Path("/usr/share/asterisk/sounds/es_MX_f_Allison")
PROMPT = np.round(8000 * np.sin(2 * np.pi * 440 * np.arange(8000) / 8000)).astype(np.int16)  # 1 s


@pytest.fixture(scope="module")
def sounds() -> Path:
    if not SOUNDS.is_dir():
        pytest.skip("apt-get install asterisk-core-sounds-es-wav")
    return SOUNDS


async def _leg(script: DebtorScript, **kwargs: object) -> SimulatedLeg:
    leg = await SimulatedCarrier({"5215550001": script}, **kwargs).dial("5215550001")  # type: ignore[arg-type]
    assert isinstance(leg, SimulatedLeg)
    return leg


async def _frames(leg: SimulatedLeg, count: int) -> list[AudioIn | DigitIn | FarEndHangup]:
    return [await leg.receive() for _ in range(count)]


def _loud_ms(inputs: list[AudioIn | DigitIn | FarEndHangup], level: float = -40.0) -> list[int]:
    """Line time (end of frame, ms) of every debtor frame louder than ``level``."""
    times, now = [], 0
    for item in inputs:
        if isinstance(item, AudioIn):
            now += 20
            if frame_dbfs(item.frame) > level:
                times.append(now)
    return times


def test_dial_failures_come_from_the_script() -> None:
    busy = DialFailure(Disposition.BUSY, 486, "Busy Here")
    carrier = SimulatedCarrier({"1": DebtorScript(failure=busy)})
    assert asyncio.run(carrier.dial("1")) == busy
    unknown = asyncio.run(carrier.dial("2"))
    assert isinstance(unknown, DialFailure) and unknown.disposition is Disposition.FAIL


def test_the_bot_prompt_reaches_the_debtor_through_g711() -> None:
    async def run() -> SimulatedLeg:
        leg = await _leg(DebtorScript())
        await leg.send_audio(PROMPT)
        await _frames(leg, 60)
        return leg

    leg = asyncio.run(run())
    assert len(leg.heard) == 1
    assert (leg.heard[0].start_ms, leg.heard[0].end_ms, leg.heard[0].cut) == (0, 1000, False)
    assert np.array_equal(leg.heard_audio(), ulaw_to_pcm(pcm_to_ulaw(PROMPT)))


def test_the_debtor_answers_after_the_prompt_ends(sounds: Path) -> None:
    async def run() -> tuple[SimulatedLeg, list[int]]:
        leg = await _leg(DebtorScript((Speak.wav(sounds / "vm-goodbye.wav", delay_ms=400),)))
        await leg.send_audio(PROMPT)
        return leg, _loud_ms(await _frames(leg, 150))

    leg, loud = asyncio.run(run())
    assert leg.turns[0].started_ms == 1400
    assert 1400 < loud[0] <= 1500
    assert leg.turns[0].ended_ms is not None and leg.turns[0].ended_ms - 1400 == pytest.approx(
        1035, abs=20
    )


def test_a_scripted_barge_in_speaks_over_the_prompt(sounds: Path) -> None:
    async def run() -> tuple[SimulatedLeg, list[int]]:
        leg = await _leg(
            DebtorScript((Speak.wav(sounds / "auth-thankyou.wav", barge_in_after_ms=300),))
        )
        await leg.send_audio(PROMPT)
        inputs = await _frames(leg, 20)  # 400 ms: debtor has started talking over the prompt
        leg.clear_audio()
        inputs += await _frames(leg, 40)
        return leg, _loud_ms(inputs)

    leg, loud = asyncio.run(run())
    assert leg.turns[0].started_ms == 300
    assert 300 < loud[0] <= 400
    assert leg.clears_ms == [400]
    assert leg.heard[0].cut and leg.heard[0].end_ms == 400


def test_digits_arrive_in_order_with_their_gaps() -> None:
    async def run() -> list[tuple[int, str]]:
        leg = await _leg(DebtorScript((Press("12#", delay_ms=100, gap_ms=200),)))
        await leg.send_audio(PROMPT[:1600])
        digits = []
        for _ in range(60):
            item = await leg.receive()
            if isinstance(item, DigitIn):
                digits.append((leg.now_ms, item.digit))
        return digits

    assert asyncio.run(run()) == [(300, "1"), (500, "2"), (700, "#")]


def test_silent_turns_let_prompts_pass_and_hangup_ends_the_call() -> None:
    async def run() -> tuple[SimulatedLeg, list[AudioIn | DigitIn | FarEndHangup]]:
        leg = await _leg(DebtorScript((Silent(), HangUp(delay_ms=200))))
        await leg.send_audio(PROMPT[:800])
        first = await _frames(leg, 50)
        await leg.send_audio(PROMPT[:800])
        return leg, first + await _frames(leg, 30)

    leg, inputs = asyncio.run(run())
    assert all(isinstance(i, AudioIn) for i in inputs[:50])
    assert isinstance(inputs[-1], FarEndHangup)
    assert leg.debtor_hung_up_ms == 1000 + 100 + 200


def test_bot_hangup_stops_the_line() -> None:
    async def run() -> LineInput:
        leg = await _leg(DebtorScript())
        await leg.hangup()
        return await leg.receive()

    assert isinstance(asyncio.run(run()), FarEndHangup)


def test_noise_is_seeded_and_at_the_level_asked() -> None:
    async def capture(seed: int) -> np.ndarray:  # type: ignore[type-arg]
        leg = await _leg(DebtorScript(line=LineConditions(noise_dbfs=-40.0, seed=seed)))
        frames = await _frames(leg, 50)
        return np.concatenate([f.frame for f in frames if isinstance(f, AudioIn)])

    a, b, c = asyncio.run(capture(1)), asyncio.run(capture(1)), asyncio.run(capture(2))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert frame_dbfs(a) == pytest.approx(-40.0, abs=0.5)


def test_text_turns_are_spoken_in_the_debtor_voice() -> None:
    debtor = EspeakSynthesizer(VoiceSettings(voice="es-419+m3", rate=170))

    async def run() -> list[int]:
        leg = await _leg(
            DebtorScript((Speak(text="Sí, soy yo.", delay_ms=200),)), debtor_voice=debtor
        )
        await leg.send_audio(PROMPT[:1600])
        return _loud_ms(await _frames(leg, 100))

    loud = asyncio.run(run())
    assert loud[0] > 400 and len(loud) > 20


def test_realtime_pacing_follows_the_wall_clock() -> None:
    async def run() -> float:
        leg = await _leg(DebtorScript(), realtime=True)
        started = time.monotonic()
        await _frames(leg, 25)
        return time.monotonic() - started

    assert 0.48 < asyncio.run(run()) < 1.5  # never faster than real time; load may slow it


def test_bad_scripts_are_refused() -> None:
    with pytest.raises(ValueError, match="DTMF"):
        Press("12a")
    with pytest.raises(ValueError, match="exactly one"):
        Speak()
    carrier = SimulatedCarrier({"1": DebtorScript((Speak(text="hola"),))})
    with pytest.raises(ValueError, match="debtor_voice"):
        asyncio.run(carrier.dial("1"))


def test_realtime_line_runs_while_the_bot_is_busy() -> None:
    """Audio queued after 300 ms of bot work plays from 300 ms; the frames meanwhile were buffered."""

    async def run() -> tuple[SimulatedLeg, list[LineInput], float]:
        leg = await _leg(DebtorScript((HangUp(delay_ms=100),)), realtime=True)
        await asyncio.sleep(0.3)  # e.g. rendering a prompt
        await leg.send_audio(PROMPT[:1600])
        started = time.monotonic()
        backlog = [await leg.receive() for _ in range(10)]
        burst_s = time.monotonic() - started
        rest = [await leg.receive() for _ in range(30)]
        return leg, backlog + rest, burst_s

    leg, inputs, burst_s = asyncio.run(run())
    assert burst_s < 0.1  # ten frames were already waiting
    assert 280 <= leg.heard[0].start_ms <= 450  # when it was queued, not at 0
    assert leg.debtor_hung_up_ms == leg.heard[0].end_ms + 100
    assert isinstance(inputs[-1], FarEndHangup)
