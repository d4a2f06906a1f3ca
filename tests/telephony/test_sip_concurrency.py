"""Ten simultaneous SIP calls from one worker keep audio in real time, both ways."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import numpy as np

from voicebot.telephony.carrier import AudioIn
from voicebot.telephony.sip import SipCallLeg, SipCarrier

if TYPE_CHECKING:
    from conftest import SipLab

CALL_S = 4.0


async def converse(leg: SipCallLeg, tone: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Play ``tone`` while hearing the debtor; return their audio and when each frame came."""
    await leg.send_audio(tone)
    frames: list[np.ndarray] = []
    arrivals: list[float] = []
    deadline = time.monotonic() + CALL_S
    while time.monotonic() < deadline:
        item = await leg.receive()
        if isinstance(item, AudioIn):
            frames.append(item.frame)
            arrivals.append(time.monotonic())
    await leg.hangup()
    return np.concatenate(frames), arrivals


def test_ten_concurrent_calls_stay_real_time(sip_lab: SipLab) -> None:
    users = [f"crowd{i}" for i in range(sip_lab.CROWD)]
    t = np.arange(int(CALL_S * sip_lab.RATE)) / sip_lab.RATE
    tone = (np.sin(2 * np.pi * 600 * t) * 6000).astype(np.int16)

    async def scenario() -> list[tuple[np.ndarray, list[float], tuple[int, int]]]:
        async with SipCarrier(sip_lab.settings()) as carrier:
            legs = await asyncio.gather(*(carrier.dial(u) for u in users))
            assert all(isinstance(leg, SipCallLeg) for leg in legs)
            sip_legs = [leg for leg in legs if isinstance(leg, SipCallLeg)]
            assert carrier.active_calls == len(users)
            results = await asyncio.gather(*(converse(leg, tone) for leg in sip_legs))
            return [
                (a, arr, leg.rtp_packets) for (a, arr), leg in zip(results, sip_legs, strict=True)
            ]

    results = asyncio.run(scenario())
    expected_frames = CALL_S / 0.02
    for audio, arrivals, (sent, received) in results:
        assert len(audio) / 160 >= 0.97 * expected_frames
        gaps = np.diff(arrivals)
        assert gaps.max() < 0.1  # no stall longer than 5 frames
        assert abs(sent - expected_frames) <= 0.03 * expected_frames
        assert received >= 0.97 * expected_frames
        first_words = sip_lab.debtor_speech[: 2 * sip_lab.RATE]  # the call ends mid-sentence
        score, offset = sip_lab.best_match(first_words, audio)
        assert score > 0.95 and abs(offset - sip_lab.DEBTOR_SPEECH_AT_S) < 0.15

    # What each phone heard: the bot's tone without dropouts.
    for user in users:
        heard = sip_lab.last_recording(user, "dec")
        voiced = sip_lab.speech_frames(heard, threshold=1000)
        start = int(np.argmax(voiced))
        run = voiced[start : start + int((CALL_S - 0.3) / 0.02)]
        assert run.mean() > 0.99, f"{user}: {int((~run).sum())} silent 20 ms frames in the tone"
