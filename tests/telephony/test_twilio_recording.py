"""A recorded call over the Twilio carrier (media streams over real websockets, real Vosk)."""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import correlate
from test_twilio_call import ConversingTwilio, Turn, _context
from test_twilio_carrier import Callee, Harness, run

from voicebot.audio.codec import ulaw_to_pcm
from voicebot.data import DEFAULT_DIALPLAN
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.domain.outcome import CallOutcome
from voicebot.domain.pcm import LINE_RATE, Pcm
from voicebot.engine.carrier_runner import CarrierCallRunner
from voicebot.engine.dialer import DialRequest
from voicebot.recording.service import CallRecordings
from voicebot.recording.store import LocalStore
from voicebot.speech.model_files import resolve_model
from voicebot.speech.tts_espeak import EspeakSynthesizer, VoiceSettings
from voicebot.speech.vosk_asr import VoskSpeechModel
from voicebot.storage import models as m

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "recording"))
from recording_world import migrated_sessions, seed_attempt

pytestmark = pytest.mark.slow


def _best(needle: Pcm, haystack: Pcm) -> float:
    a, b = needle.astype(np.float64), haystack.astype(np.float64)
    raw = correlate(b, a, mode="valid", method="fft")
    windows = np.sqrt(np.convolve(b * b, np.ones(len(a)), mode="valid"))
    return float(np.max(raw / (np.linalg.norm(a) * np.maximum(windows, 1e-9))))


def test_a_twilio_call_is_recorded_both_ways(tmp_path: Path) -> None:
    model = VoskSpeechModel(resolve_model("ko", env={}))
    debtor = EspeakSynthesizer(VoiceSettings("ko", 150))
    bot = EspeakSynthesizer(VoiceSettings("es-419", 175))
    said = debtor.synthesize("네")
    fake = ConversingTwilio((Turn(0, 0.4, speak=said), Turn(1, 0.6, hang_up=True)))
    sessions = migrated_sessions(tmp_path)
    seeded = seed_attempt(sessions)
    store = LocalStore(tmp_path / "rec")

    async def body(h: Harness) -> None:
        h.twilio.callees["+573001112233"] = Callee(answered_by="human")
        runner = CarrierCallRunner(
            load_dialplan(DEFAULT_DIALPLAN),
            h.carrier,
            model,
            bot,
            transferrer_for=lambda leg: h.carrier.transferrer_for(getattr(leg, "inner", leg)),
            recordings=CallRecordings(sessions, store),
        )
        result = await runner.run(DialRequest(seeded.attempt_id, "+573001112233", _context()))
        assert isinstance(result, CallOutcome), result

    run(body, fake=fake, timeout_s=90)
    with sessions() as s:
        row = s.query(m.Recording).filter_by(attempt_id=seeded.attempt_id).one()
        assert row.status == "complete"
        audio, rate = sf.read(store.path(row.key), dtype="int16")
    assert rate == LINE_RATE
    # The far end: the debtor's answer as it came in on the media stream (μ-law).
    assert _best(said, audio[:, 1]) > 0.9
    # The bot's channel: the first second of what the bot sent to Twilio, from the start.
    sent = [msg for msg in next(iter(fake.peers.values())).received if msg["event"] == "media"]
    first = np.concatenate(
        [
            ulaw_to_pcm(np.frombuffer(base64.b64decode(msg["media"]["payload"]), np.uint8))
            for msg in sent[:50]
        ]
    )
    assert _best(first, audio[: 2 * LINE_RATE, 0]) > 0.95
