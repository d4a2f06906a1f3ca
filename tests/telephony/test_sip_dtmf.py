"""DTMF: RFC 4733 keys from a real phone, and in-band tones through the Goertzel fallback."""

from __future__ import annotations

import asyncio
import threading
import time
import wave
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from voicebot.telephony.carrier import DigitIn
from voicebot.telephony.dtmf import KEYS, InbandDtmfDetector, classify, tone
from voicebot.telephony.sip import SipCallLeg, SipCarrier

if TYPE_CHECKING:
    from conftest import SipLab

SPANISH_SOUNDS = Path("/usr/share/asterisk/sounds/es")


def detect(audio: np.ndarray) -> list[str]:
    detector = InbandDtmfDetector()
    keys: list[str] = []
    for start in range(0, len(audio) - 159, 160):
        keys += detector.feed(audio[start : start + 160])
    return keys


def gap(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * 8000), dtype=np.int16)


def test_every_key_is_detected_once_per_press() -> None:
    keys = "".join(KEYS)
    audio = np.concatenate([np.concatenate([tone(k, 0.07), gap(0.06)]) for k in keys])
    assert "".join(detect(audio)) == keys


def test_a_held_key_counts_once_and_a_repeat_counts_again() -> None:
    audio = np.concatenate([tone("5", 0.5), gap(0.06), tone("5", 0.1), gap(0.1)])
    assert detect(audio) == ["5", "5"]


def test_quiet_keys_and_line_noise() -> None:
    rng = np.random.default_rng(7)
    quiet = tone("9", 0.1, amplitude=300)
    noise = rng.normal(0, 100, len(quiet)).astype(np.int16)
    assert detect(np.concatenate([gap(0.04), quiet + noise, gap(0.04)])) == ["9"]
    assert detect(rng.normal(0, 3000, 8000).astype(np.int16)) == []


def test_single_tones_and_distorted_pairs_are_not_keys() -> None:
    t = np.arange(160) / 8000
    row_only = (np.sin(2 * np.pi * 770 * t) * 8000).astype(np.int16)
    assert classify(row_only) is None
    # A third strong tone inside the column group (not a DTMF pair).
    crowded = tone("5", 0.02).astype(np.float64) + np.sin(2 * np.pi * 1209 * t) * 4000
    assert classify(crowded.astype(np.int16)) is None
    # 15 dB of twist between the two tones.
    twisted = np.sin(2 * np.pi * 852 * t) * 8000 + np.sin(2 * np.pi * 1336 * t) * 1400
    assert classify(twisted.astype(np.int16)) is None


def test_spanish_speech_does_not_talk_off() -> None:
    files = sorted(SPANISH_SOUNDS.glob("*.wav"))
    assert len(files) > 100
    frames = 0
    for path in files:
        with wave.open(str(path)) as source:
            audio = np.frombuffer(source.readframes(source.getnframes()), dtype=np.int16)
        frames += len(audio) // 160
        assert detect(audio) == [], path.name
    assert frames > 60_000  # over 20 minutes of real speech without a false key


def test_unknown_keys_are_rejected() -> None:
    with pytest.raises(ValueError, match="DTMF key"):
        tone("x")


async def collect_digits(leg: SipCallLeg, count: int, timeout_s: float) -> list[str]:
    digits: list[str] = []
    deadline = time.monotonic() + timeout_s
    while len(digits) < count and time.monotonic() < deadline:
        try:
            item = await asyncio.wait_for(leg.receive(), deadline - time.monotonic())
        except TimeoutError:
            break
        if isinstance(item, DigitIn):
            digits.append(item.digit)
    return digits


def test_rfc4733_keys_from_the_phone_arrive_as_digits(sip_lab: SipLab) -> None:
    keys = "1905*#"

    async def scenario() -> list[str]:
        async with SipCarrier(sip_lab.settings()) as carrier:
            leg = await carrier.dial("keypad")
            assert isinstance(leg, SipCallLeg)
            presser = threading.Thread(
                target=sip_lab.bed.peer("keypad").send_digits, args=(keys,), daemon=True
            )
            presser.start()
            digits = await collect_digits(leg, len(keys), timeout_s=5.0)
            await leg.hangup()
            return digits

    assert "".join(asyncio.run(scenario())) == keys


def test_in_band_tones_arrive_as_digits_when_enabled(sip_lab: SipLab) -> None:
    async def scenario(inband: bool) -> list[str]:
        async with SipCarrier(sip_lab.settings(inband_dtmf=inband)) as carrier:
            leg = await carrier.dial("tones")
            assert isinstance(leg, SipCallLeg)
            digits = await collect_digits(leg, len(sip_lab.INBAND_KEYS), timeout_s=2.5)
            await leg.hangup()
            return digits

    assert "".join(asyncio.run(scenario(True))) == sip_lab.INBAND_KEYS
    # The phone negotiated telephone-event, so by default its audio is not searched.
    assert asyncio.run(scenario(False)) == []
