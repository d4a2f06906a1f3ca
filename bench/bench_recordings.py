"""Call recording benchmark: FLAC size per call-minute and the recorder's CPU per call.

    .venv/bin/python bench/bench_recordings.py [--minutes 3] [--calls 5]

Each call is built like a real one on the line: the bot's channel is espeak-ng prompts
(es-419) with the pauses of a conversation, the far end is real Spanish recordings
(asterisk-core-sounds-es-wav) through a G.711 μ-law round trip with line noise at
-55 dBFS, alternating turns. The whole recorder path is measured: ``RecordingLeg``
(playback mirror, per-frame writes) over an in-memory leg, FLAC encoding, close, fsync,
SHA-256 and the decode that counts playable samples. CPU is process time of this one
process; size is compared with the same audio as 16-bit PCM WAV (2 channels).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from voicebot.audio.codec import pcm_to_ulaw, ulaw_to_pcm
from voicebot.audio.wav import read_wav
from voicebot.domain.pcm import FRAME_SAMPLES, LINE_RATE, Pcm
from voicebot.recording.leg import RecordingLeg
from voicebot.recording.writer import RecordingWriter, file_facts
from voicebot.telephony.carrier import AudioIn, LineInput

SOUNDS = Path("/usr/share/asterisk/sounds/es_MX_f_Allison")
PROMPTS = (
    "Buenos días, le habla el asistente virtual de Gestión Integral de Cartera.",
    "Por su seguridad, dígame los últimos cuatro dígitos de su documento.",
    "Su saldo pendiente es de novecientos mil pesos. ¿Cuándo podría realizar el pago?",
    "Para confirmar: usted pagará el viernes. ¿Es correcto?",
)


def espeak(text: str, workdir: Path) -> Pcm:
    out = workdir / f"p{abs(hash(text))}.wav"
    subprocess.run(["espeak-ng", "-v", "es-419", "-w", str(out), text], check=True)
    return read_wav(out, LINE_RATE)


class ScriptedLine:
    """A far end that plays ``far`` frame by frame (no carrier needed to measure the recorder)."""

    call_id = "bench"

    def __init__(self, far: Pcm) -> None:
        self.far = far
        self.at = 0

    async def send_audio(self, pcm: Pcm) -> None:
        return None

    def clear_audio(self) -> None:
        return None

    async def receive(self) -> LineInput:
        frame = self.far[self.at : self.at + FRAME_SAMPLES]
        self.at += FRAME_SAMPLES
        return AudioIn(frame)

    async def hangup(self) -> None:
        return None


def conversation(minutes: float, prompts: list[Pcm], replies: list[Pcm], seed: int):  # type: ignore[no-untyped-def]
    """(bot turns as (start sample, pcm), far-end track) for ``minutes`` of alternating turns."""
    rng = np.random.default_rng(seed)
    total = int(minutes * 60 * LINE_RATE) // FRAME_SAMPLES * FRAME_SAMPLES
    far = rng.normal(0, 32768 * 10 ** (-55 / 20), total)
    bot_turns: list[tuple[int, Pcm]] = []
    at, turn = 0, 0
    while at < total:
        prompt = prompts[turn % len(prompts)]
        bot_turns.append((at, prompt))
        at += prompt.size + int(0.4 * LINE_RATE)
        reply = replies[turn % len(replies)]
        end = min(total, at + reply.size)
        far[at:end] += reply[: end - at]
        at = end + int(0.6 * LINE_RATE)
        turn += 1
    far16 = np.clip(far, -32768, 32767).astype(np.int16)
    return bot_turns, ulaw_to_pcm(pcm_to_ulaw(far16))


async def record(path: Path, bot_turns: list[tuple[int, Pcm]], far: Pcm) -> float:
    started = time.process_time()
    leg = RecordingLeg(ScriptedLine(far), RecordingWriter(path))
    pending = list(bot_turns)
    for index in range(far.size // FRAME_SAMPLES):
        while pending and pending[0][0] <= index * FRAME_SAMPLES:
            await leg.send_audio(pending.pop(0)[1])
        await leg.receive()
    leg.writer.close()
    file_facts(path)
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--calls", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        prompts = [espeak(text, workdir) for text in PROMPTS]
        names = ("auth-thankyou", "conf-invalidpin", "vm-goodbye", "conf-getpin")
        replies = [read_wav(SOUNDS / f"{name}.wav", LINE_RATE) for name in names]
        sizes, cpus = [], []
        for call in range(args.calls):
            bot_turns, far = conversation(args.minutes, prompts, replies, seed=call)
            path = workdir / f"call{call}.flac"
            cpus.append(asyncio.run(record(path, bot_turns, far)))
            sizes.append(path.stat().st_size)
        wav_per_min = LINE_RATE * 2 * 2 * 60
        per_min = np.mean(sizes) / args.minutes
        cpu_per_min = np.mean(cpus) / args.minutes
        print(f"calls: {args.calls} x {args.minutes:g} min, two channels at {LINE_RATE} Hz")
        print(f"FLAC size per call-minute: {per_min / 1024:.0f} KiB")
        print(
            f"  (16-bit PCM WAV: {wav_per_min / 1024:.0f} KiB; ratio {per_min / wav_per_min:.2f})"
        )
        print(f"recorder CPU per call-minute: {cpu_per_min * 1000:.0f} ms")
        print(f"recorder CPU per {args.minutes:g}-minute call: {np.mean(cpus) * 1000:.0f} ms")
        print(f"  = {100 * cpu_per_min / 60:.2f} % of one core per concurrent call")


if __name__ == "__main__":
    main()
