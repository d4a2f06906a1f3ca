"""WAV files in and out: any common WAV becomes mono int16 at the rate the caller names.

The stdlib ``wave`` module reads only integer PCM; prompts and test recordings
also come as float, μ-law, A-law or WAVE_FORMAT_EXTENSIBLE, so the RIFF chunks
are parsed here. Writing is always 16-bit mono PCM, atomically (temp + rename)
so a reader never sees half a file.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from voicebot.audio.codec import alaw_to_pcm, ulaw_to_pcm
from voicebot.audio.resample import resample, to_int16
from voicebot.domain.pcm import Pcm

_PCM, _FLOAT, _ALAW, _ULAW, _EXTENSIBLE = 0x0001, 0x0003, 0x0006, 0x0007, 0xFFFE


class WavError(ValueError):
    """The file is not a WAV this module can read; the message says why."""


@dataclass(frozen=True, slots=True)
class WavInfo:
    format_tag: int
    channels: int
    sample_rate: int
    bits: int
    frames: int

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate


def _chunks(data: bytes, source: str) -> dict[bytes, bytes]:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise WavError(f"{source}: not a RIFF/WAVE file")
    chunks: dict[bytes, bytes] = {}
    pos = 12
    while pos + 8 <= len(data):
        ident, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        body = data[pos + 8 : pos + 8 + size]
        chunks.setdefault(ident, body)
        pos += 8 + size + (size & 1)
    if b"fmt " not in chunks:
        raise WavError(f"{source}: no 'fmt ' chunk")
    if b"data" not in chunks:
        raise WavError(f"{source}: no 'data' chunk")
    return chunks


def _decode(fmt: bytes, body: bytes, source: str) -> tuple[npt.NDArray[np.float64], WavInfo]:
    if len(fmt) < 16:
        raise WavError(f"{source}: 'fmt ' chunk too short")
    tag, channels, rate, _, block_align, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == _EXTENSIBLE and len(fmt) >= 26:
        tag = struct.unpack_from("<H", fmt, 24)[0]  # first two bytes of the subformat GUID
    if channels < 1 or rate < 1 or block_align < 1:
        raise WavError(f"{source}: invalid header (channels={channels}, rate={rate})")
    body = body[: len(body) - len(body) % block_align]
    if tag == _PCM and bits == 8:
        samples = (np.frombuffer(body, np.uint8).astype(np.float64) - 128.0) * 256.0
    elif tag == _PCM and bits == 16:
        samples = np.frombuffer(body, "<i2").astype(np.float64)
    elif tag == _PCM and bits == 24:
        raw = np.frombuffer(body, np.uint8).reshape(-1, 3).astype(np.int32)
        value = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
        samples = (np.where(value >= 1 << 23, value - (1 << 24), value) / 256.0).astype(np.float64)
    elif tag == _PCM and bits == 32:
        samples = np.frombuffer(body, "<i4").astype(np.float64) / 65536.0
    elif tag == _FLOAT and bits in (32, 64):
        samples = np.frombuffer(body, "<f4" if bits == 32 else "<f8").astype(np.float64) * 32768.0
    elif tag == _ULAW and bits == 8:
        samples = ulaw_to_pcm(body).astype(np.float64)
    elif tag == _ALAW and bits == 8:
        samples = alaw_to_pcm(body).astype(np.float64)
    else:
        raise WavError(f"{source}: unsupported WAV encoding (format tag {tag:#06x}, {bits} bits)")
    frames = samples.size // channels
    mono = samples[: frames * channels].reshape(frames, channels).mean(axis=1)
    return mono, WavInfo(tag, channels, rate, bits, frames)


def decode_wav(data: bytes, rate: int, *, source: str = "<bytes>") -> tuple[Pcm, WavInfo]:
    """WAV bytes → mono int16 at ``rate`` Hz, plus what the file was."""
    if rate <= 0:
        raise ValueError(f"rate must be positive, got {rate}")
    chunks = _chunks(data, source)
    mono, info = _decode(chunks[b"fmt "], chunks[b"data"], source)
    return resample(to_int16(mono), info.sample_rate, rate), info


def read_wav(path: str | os.PathLike[str], rate: int) -> Pcm:
    """Read any common WAV file as mono int16 at ``rate`` Hz."""
    return decode_wav(Path(path).read_bytes(), rate, source=str(path))[0]


def encode_wav(pcm: Pcm, rate: int) -> bytes:
    """Mono int16 samples → 16-bit PCM WAV bytes."""
    samples = np.asarray(pcm)
    if samples.dtype != np.int16 or samples.ndim != 1:
        raise TypeError(f"expected 1-D int16 PCM, got {samples.dtype} {samples.shape}")
    buffer = io.BytesIO()
    data = samples.astype("<i2").tobytes()
    buffer.write(b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE")
    buffer.write(b"fmt " + struct.pack("<IHHIIHH", 16, _PCM, 1, rate, rate * 2, 2, 16))
    buffer.write(b"data" + struct.pack("<I", len(data)) + data)
    return buffer.getvalue()


def write_wav(path: str | os.PathLike[str], pcm: Pcm, rate: int) -> None:
    """Write a 16-bit mono WAV atomically: concurrent readers see the old file or the new one."""
    target = Path(path)
    payload = encode_wav(pcm, rate)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
