"""A worker process recording a call, to be SIGKILLed mid-call by the test.

argv: database URL, store directory, attempt id, debtor WAV. Records the simulated line
(the debtor plays the WAV, the bot plays a tone) until 3 s are flushed to disk, says so on
stdout, then waits (as if mid-call) for the kill.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import numpy as np

from voicebot.audio.wav import read_wav
from voicebot.domain.pcm import LINE_RATE
from voicebot.recording.service import CallRecordings
from voicebot.recording.store import LocalStore
from voicebot.storage.db import make_engine, session_factory
from voicebot.telephony.simulated import DebtorScript, SimulatedCarrier, SimulatedLeg, Speak


async def main(url: str, root: Path, attempt_id: int, wav: Path) -> None:
    known = read_wav(wav, LINE_RATE)
    script = DebtorScript((Speak(audio=known, barge_in_after_ms=0),))
    leg = await SimulatedCarrier({"1": script}).dial("1")
    assert isinstance(leg, SimulatedLeg)
    recordings = CallRecordings(session_factory(make_engine(url)), LocalStore(root))
    active = recordings.start(attempt_id, leg, leg.clock())
    tone = (3000 * np.sin(np.arange(LINE_RATE * 10) * 2 * np.pi * 440 / LINE_RATE)).astype(np.int16)
    await active.leg.send_audio(tone)
    while active.leg.writer.frames < 3 * LINE_RATE:
        await active.leg.receive()
    active.leg.writer.flush()
    print(f"flushed {active.key}", flush=True)
    sys.stdin.read()  # mid-call: the test kills this process here


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])))
