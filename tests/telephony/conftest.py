"""The SIP test bed for the whole session, the audio it plays, and ways to check audio.

One kamailio and one baresip per peer start once (≈0.3 s) and are stopped at
session end. Each peer plays a WAV built here from real Spanish recordings
(asterisk-core-sounds-es-wav) and espeak-ng, padded with silence so it stays on
the line; ``quitter`` plays only 1.5 s, so it hangs up by itself.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import correlate, resample_poly

from testbeds.sip import PeerSpec, TestBed, free_port_block, write_wav
from testbeds.sip import voiced_frames as speech_frames
from voicebot.domain.pcm import FRAME_SAMPLES, LINE_RATE, Pcm
from voicebot.recording.leg import CountsLineFrames
from voicebot.telephony.carrier import CallLeg, DialFailure
from voicebot.telephony.dtmf import tone
from voicebot.telephony.sip import SipCallLeg, SipCarrier, SipSettings
from voicebot.telephony.sip_transfer import Handoff

SOUNDS = Path("/usr/share/asterisk/sounds/es")
DEBTOR_SPEECH = SOUNDS / "conf-invalidpin.wav"
AGENT_SPEECH = SOUNDS / "conf-extended.wav"
RATE = 8000
DEBTOR_SPEECH_AT_S = 1.0  # the debtor answers, waits a second, then speaks
AGENT_SPEECH_AT_S = 3.0
XFER_DEBTOR_SPEECH_AT_S = 4.5  # after the agent has been rung and whispered to
CROWD = 10
INBAND_KEYS = "47#"


def read_wav(path: Path) -> Pcm:
    with wave.open(str(path)) as source:
        assert source.getframerate() == RATE and source.getsampwidth() == 2
        return np.frombuffer(source.readframes(source.getnframes()), dtype=np.int16)


def silence(seconds: float) -> Pcm:
    return np.zeros(int(seconds * RATE), dtype=np.int16)


def espeak(text: str, workdir: Path) -> Pcm:
    """Real espeak-ng speech, as the bot would send it (8 kHz int16)."""
    out = workdir / f"espeak-{abs(hash(text))}.wav"
    subprocess.run(["espeak-ng", "-v", "es-419", "-w", str(out), text], check=True)
    with wave.open(str(out)) as source:
        rate = source.getframerate()
        pcm = np.frombuffer(source.readframes(source.getnframes()), dtype=np.int16)
    return resample_poly(pcm.astype(np.float64), RATE, rate).astype(np.int16)


def best_match(needle: Pcm, haystack: Pcm) -> tuple[float, float]:
    """(normalized correlation, offset in seconds) of ``needle``'s best position in ``haystack``."""
    a = needle.astype(np.float64)
    b = haystack.astype(np.float64)
    if len(b) < len(a):
        b = np.concatenate([b, np.zeros(len(a) - len(b))])
    raw = correlate(b, a, mode="valid", method="fft")
    windows = np.sqrt(np.convolve(b * b, np.ones(len(a)), mode="valid"))
    score = raw / (np.linalg.norm(a) * np.maximum(windows, 1e-9))
    best = int(np.argmax(score))
    return float(score[best]), best / RATE


def relayed(needle: Pcm, haystack: Pcm, piece_s: float = 0.4) -> tuple[float, float]:
    """How much of ``needle`` a bridge carried into ``haystack``: (share of its voiced pieces
    found whole, in order, each matching > 0.9; offset in seconds of the first one).

    The bridge relays 20 ms frames with an 80 ms cushion and no jitter buffer of its own, so
    a machine that starves the event loop for longer leaves a real gap in what the far end
    hears: one whole-sentence correlation then drops although every word arrived. A piece
    cut by a gap is the only one lost.
    """
    size = int(piece_s * RATE)
    found, first, after = 0, -1.0, -1.0
    voiced = [
        needle[i * size : (i + 1) * size]
        for i, has_voice in enumerate(speech_frames(needle, frame=size))
        if has_voice
    ]
    for piece in voiced:
        score, at = best_match(piece, haystack)
        if score > 0.9 and at > after:
            found, after = found + 1, at
            first = at if first < 0 else first
    return found / max(len(voiced), 1), first


FRAMES_PER_S = LINE_RATE // FRAME_SAMPLES  # the line's 20 ms frames


def line_frames(seconds: float) -> int:
    """20 ms frames in ``seconds`` of line time."""
    return int(seconds * FRAMES_PER_S)


class DiallingCarrier:
    """The carrier as ``warm_transfer`` sees it, keeping the legs it dials (the agent's).

    A test reads the agent leg's line clock through it, so it can wait for what the
    agent's phone has *said* instead of for wall-clock seconds.
    """

    def __init__(self, inner: SipCarrier) -> None:
        self.inner = inner
        self.dialled: list[SipCallLeg] = []

    async def dial(self, to: str, **options: object) -> CallLeg | DialFailure:
        leg = await self.inner.dial(to, **options)  # type: ignore[arg-type]
        if isinstance(leg, SipCallLeg):
            self.dialled.append(leg)
        return leg

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


@dataclass
class SipLab:
    """The running bed plus the audio and measurements the SIP tests share."""

    RATE = RATE
    DEBTOR_SPEECH_AT_S = DEBTOR_SPEECH_AT_S
    AGENT_SPEECH_AT_S = AGENT_SPEECH_AT_S
    XFER_DEBTOR_SPEECH_AT_S = XFER_DEBTOR_SPEECH_AT_S
    FRAMES_PER_S = FRAMES_PER_S
    CROWD = CROWD
    INBAND_KEYS = INBAND_KEYS
    DiallingCarrier = DiallingCarrier
    best_match = staticmethod(best_match)
    relayed = staticmethod(relayed)
    speech_frames = staticmethod(speech_frames)
    silence = staticmethod(silence)

    bed: TestBed
    workdir: Path
    debtor_speech: Pcm
    agent_speech: Pcm
    prompt: Pcm  # an espeak-ng sentence the bot "says"
    whisper: Pcm

    def settings(self, **overrides: object) -> SipSettings:
        """Settings for a fresh bot endpoint with its own SIP port and RTP range."""
        base = free_port_block(101)
        values: dict[str, object] = {
            "server": "127.0.0.1",
            "port": self.bed.proxy_port,
            "user": "bot",
            "local_ip": "127.0.0.1",
            "local_port": base,
            "rtp_port_low": base + 1,
            "rtp_port_high": base + 100,
            "caller_id": "Cobranza Demo",
        }
        values.update(overrides)
        return SipSettings(**values)  # type: ignore[arg-type]

    def line_times_at_bridge(
        self, debtor: CountsLineFrames, carrier: DiallingCarrier
    ) -> list[tuple[float, float]]:
        """Filled when the transfer connects: (agent, debtor) seconds of line time then.

        The scenario needs the bridge up before either phone speaks (agent at
        ``AGENT_SPEECH_AT_S``, debtor at ``XFER_DEBTOR_SPEECH_AT_S``); what was said
        before is dropped as stale, by design.
        """
        seen: list[tuple[float, float]] = []

        def on_handoff(handoff: Handoff) -> None:
            if handoff.state == "connected" and carrier.dialled:
                agent = carrier.dialled[-1].frames_received / FRAMES_PER_S
                seen.append((agent, debtor.frames_received / FRAMES_PER_S))

        carrier.inner.desk.subscribe(on_handoff)
        return seen

    def assert_bridged_before_either_spoke(self, at_bridge: list[tuple[float, float]]) -> None:
        [(agent_at, debtor_at)] = at_bridge
        assert agent_at < AGENT_SPEECH_AT_S, f"agent already speaking at the bridge: {agent_at} s"
        assert debtor_at < XFER_DEBTOR_SPEECH_AT_S, f"debtor already spoke: {debtor_at} s"

    async def hang_up_once_both_have_spoken(
        self, debtor: CountsLineFrames, carrier: DiallingCarrier, limit_s: float = 30.0
    ) -> None:
        """``xfer-debtor`` hangs up once both phones have said their sentence, in line time.

        The bridge ends when the debtor hangs up; a wall-clock timer would cut the agent's
        sentence short whenever a busy machine delays the agent's answer.
        """
        tail_s = 0.5
        debtor_done = line_frames(XFER_DEBTOR_SPEECH_AT_S + self.debtor_speech.size / RATE + tail_s)
        agent_done = line_frames(AGENT_SPEECH_AT_S + self.agent_speech.size / RATE + tail_s)

        def said() -> bool:
            agent = carrier.dialled[-1] if carrier.dialled else None
            return (
                agent is not None
                and agent.frames_received >= agent_done
                and debtor.frames_received >= debtor_done
            )

        async def both_said() -> None:
            while not said():
                await asyncio.sleep(0.02)

        await asyncio.wait_for(both_said(), limit_s)
        await asyncio.get_running_loop().run_in_executor(None, self.bed.peer("xfer-debtor").hangup)

    def last_recording(self, user: str, direction: str, timeout_s: float = 3.0) -> Pcm:
        """The newest finished sndfile dump of ``user`` (``dec``: what that phone heard)."""
        peer = self.bed.peer(user)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = peer.recordings(direction)
            if found:
                size = found[-1].stat().st_size
                time.sleep(0.2)
                if found[-1].stat().st_size == size:
                    return read_wav(found[-1])
            time.sleep(0.05)
        raise AssertionError(f"no {direction} recording for {user}")


@pytest.fixture(scope="session")
def sip_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SipLab]:
    workdir = tmp_path_factory.mktemp("sipbed")
    debtor_speech = read_wav(DEBTOR_SPEECH)
    agent_speech = read_wav(AGENT_SPEECH)
    pad = silence(120)

    def wav(name: str, *parts: Pcm) -> Path:
        return write_wav(workdir / f"{name}.wav", np.concatenate(parts).tobytes())

    debtor = wav("debtor", silence(DEBTOR_SPEECH_AT_S), debtor_speech, pad)
    xfer_debtor = wav("xfer-debtor", silence(XFER_DEBTOR_SPEECH_AT_S), debtor_speech, pad)
    agent = wav("agent", silence(AGENT_SPEECH_AT_S), agent_speech, pad)
    quiet = wav("quiet", pad)
    quitter = wav("quitter", silence(0.5), debtor_speech[: RATE * 1])
    keys = [np.concatenate([tone(k, 0.1), silence(0.2)]) for k in INBAND_KEYS]
    tones = wav("tones", silence(1.0), *keys, pad)
    peers = [
        PeerSpec("debtor", debtor),
        PeerSpec("debtor-pcma", debtor),
        PeerSpec("listener", quiet),
        PeerSpec("listener-pcma", quiet),
        PeerSpec("bargein", quiet),
        PeerSpec("quitter", quitter),
        PeerSpec("keypad", quiet),
        PeerSpec("tones", tones),
        PeerSpec("xfer-debtor", xfer_debtor),
        PeerSpec("xfer-quitter", quitter),
        PeerSpec("agent", agent),
        *(PeerSpec(f"crowd{i}", debtor) for i in range(CROWD)),
    ]
    bed = TestBed(workdir / "bed", peers)
    bed.start()
    try:
        yield SipLab(
            bed,
            workdir,
            debtor_speech,
            agent_speech,
            espeak("Buenos días, le llamamos de parte de Servicios Andinos.", workdir),
            espeak("Cliente con promesa incumplida.", workdir),
        )
    finally:
        bed.stop()
