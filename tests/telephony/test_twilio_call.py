"""A whole collections call over the Twilio carrier: dialplan, audio port, real Vosk, real websockets.

The Twilio stand-in from ``test_twilio_carrier`` places the call; here its media
stream runs in real time like Twilio's (a 20 ms frame every 20 ms, silence when
the debtor is quiet) and the debtor reacts to the bot: each turn waits until a
prompt has finished *playing* (its audio length after arrival, marked by the
``mark`` we send after every prompt), then speaks, presses keys or hangs up.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import websockets
from test_twilio_carrier import ACCOUNT, Callee, FakeTwilio, Harness, Peer, run

from voicebot.audio.codec import pcm_to_ulaw
from voicebot.data import DEFAULT_DIALPLAN
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.domain.context import CallContext, context_from_json
from voicebot.domain.outcome import CallOutcome, Disposition
from voicebot.domain.pcm import FRAME_SAMPLES, Pcm
from voicebot.engine.carrier_runner import CarrierCallRunner
from voicebot.engine.dialer import DialRequest
from voicebot.speech.model_files import resolve_model
from voicebot.speech.tts_espeak import EspeakSynthesizer, VoiceSettings
from voicebot.speech.vosk_asr import VoskSpeechModel

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Turn:
    """After the bot's prompt number ``after_prompt`` has played, wait ``delay_s`` and act."""

    after_prompt: int
    delay_s: float
    speak: Pcm | None = None
    press: str = ""
    hang_up: bool = False


class ConversingTwilio(FakeTwilio):
    """The stand-in with a real-time, reactive far end instead of a scripted burst."""

    def __init__(self, turns: tuple[Turn, ...]) -> None:
        super().__init__()
        self.turns = turns
        self.prompt_ends: list[float] = []  # loop time each prompt finished playing

    async def _stream(
        self, sid: str, url: str, params: dict[str, str], callee: Callee, stop: asyncio.Event
    ) -> None:
        loop = asyncio.get_running_loop()
        stream_sid = f"MZ{sid[2:]}"
        peer = self.peers[sid] = Peer(stream_sid)
        headers = {"X-Twilio-Signature": self.validator.compute_signature(url, {})}
        async with websockets.connect(url, additional_headers=headers) as ws:
            await ws.send(
                json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"})
            )
            start = {
                "accountSid": ACCOUNT,
                "streamSid": stream_sid,
                "callSid": sid,
                "tracks": ["inbound"],
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                "customParameters": params,
            }
            await ws.send(json.dumps({"event": "start", "sequenceNumber": "1", "start": start}))
            reader = asyncio.create_task(self._play(ws, peer))
            await self._talk(ws, stream_sid, stop, loop.time())
            stopped = {"accountSid": ACCOUNT, "callSid": sid}
            stop_msg = {"event": "stop", "streamSid": stream_sid, "stop": stopped}
            if not stop.is_set():
                await ws.send(json.dumps({**stop_msg, "sequenceNumber": "0"}))
            await ws.close()
            await reader
        peer.closed.set()

    async def _play(self, ws: Any, peer: Peer) -> None:
        """Twilio plays what we receive in real time: track when each prompt ends."""
        loop = asyncio.get_running_loop()
        playing_until = 0.0
        try:
            async for raw in ws:
                message = json.loads(raw)
                peer.received.append(message)
                now = loop.time()
                if message["event"] == "media":
                    samples = len(base64.b64decode(message["media"]["payload"]))
                    playing_until = max(now, playing_until) + samples / 8000
                elif message["event"] == "clear":
                    playing_until = now
                elif message["event"] == "mark":
                    self.prompt_ends.append(max(now, playing_until))
        except websockets.ConnectionClosed:
            pass

    async def _talk(self, ws: Any, stream_sid: str, stop: asyncio.Event, started: float) -> None:
        loop = asyncio.get_running_loop()
        silence = pcm_to_ulaw(np.zeros(FRAME_SAMPLES, dtype=np.int16)).tobytes()
        speech = b""
        pending = list(self.turns)
        frame = 0
        while not stop.is_set():
            if pending and len(self.prompt_ends) > pending[0].after_prompt:
                turn = pending[0]
                if loop.time() >= self.prompt_ends[turn.after_prompt] + turn.delay_s:
                    pending.pop(0)
                    if turn.hang_up:
                        return
                    if turn.speak is not None:
                        speech += pcm_to_ulaw(turn.speak).tobytes()
                    for digit in turn.press:
                        dtmf = {"track": "inbound_track", "digit": digit}
                        await ws.send(
                            json.dumps({"event": "dtmf", "streamSid": stream_sid, "dtmf": dtmf})
                        )
            chunk, speech = (
                (speech[:FRAME_SAMPLES], speech[FRAME_SAMPLES:]) if speech else (silence, b"")
            )
            chunk = chunk.ljust(FRAME_SAMPLES, silence[:1])
            frame += 1
            media = {
                "track": "inbound",
                "chunk": str(frame),
                "timestamp": str(frame * 20),
                "payload": base64.b64encode(chunk).decode(),
            }
            try:
                await ws.send(
                    json.dumps({"event": "media", "streamSid": stream_sid, "media": media})
                )
            except websockets.ConnectionClosed:
                return
            await asyncio.sleep(max(0.0, started + frame * 0.02 - loop.time()))


def _context() -> CallContext:
    """The README's example debtor (examples/debtor.json)."""
    data = json.loads((ROOT / "examples" / "debtor.json").read_text(encoding="utf-8"))
    return context_from_json(data, today=date(2026, 11, 23))


def test_twilio_whole_call_verifies_the_debtor_and_discloses() -> None:
    """Same script as the simulated-line call test: "네" (yes), document digits, hang up."""
    model = VoskSpeechModel(resolve_model("ko", env={}))
    debtor = EspeakSynthesizer(VoiceSettings("ko", 150))
    bot = EspeakSynthesizer(VoiceSettings("es-419", 175))
    turns = (
        Turn(0, 0.4, speak=debtor.synthesize("네")),
        Turn(1, 0.6, press="1234"),
        Turn(2, 1.5, hang_up=True),
    )
    fake = ConversingTwilio(turns)
    outcome: list[CallOutcome] = []

    async def body(h: Harness) -> None:
        h.twilio.callees["+573001112233"] = Callee(answered_by="human")
        runner = CarrierCallRunner(
            load_dialplan(DEFAULT_DIALPLAN),
            h.carrier,
            model,
            bot,
            transferrer_for=h.carrier.transferrer_for,
        )
        result = await runner.run(DialRequest(1, "+573001112233", _context()))
        assert isinstance(result, CallOutcome), result
        outcome.append(result)

    run(body, fake=fake, timeout_s=90)
    result = outcome[0]
    assert result.disposition is Disposition.RPC
    assert result.right_party_contacted and result.disclosure_made
    assert len(fake.prompt_ends) >= 3  # greeting, document question, disclosure all played
    played = [m for m in next(iter(fake.peers.values())).received if m["event"] == "media"]
    assert len(played) > 3 * 50  # seconds of bot speech reached the far end
