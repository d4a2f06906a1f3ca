"""WAV reading for every common encoding, resampled to the rate asked, and atomic writing."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from voicebot.audio.codec import pcm_to_alaw, pcm_to_ulaw
from voicebot.audio.wav import WavError, decode_wav, encode_wav, read_wav, write_wav

TONE = np.round(12000 * np.sin(2 * np.pi * 440 * np.arange(8000) / 8000)).astype(np.int16)


def _wav(
    tag: int, channels: int, rate: int, bits: int, data: bytes, extensible: bool = False
) -> bytes:
    block = channels * bits // 8
    if extensible:
        guid = struct.pack("<H", tag) + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt = (
            struct.pack(
                "<HHIIHHHHI", 0xFFFE, channels, rate, rate * block, block, bits, 22, bits, 0
            )
            + guid
        )
    else:
        fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"LIST" + struct.pack("<I", 3) + b"abc\x00"  # odd-sized chunk with pad byte
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_round_trip_16_bit() -> None:
    pcm, info = decode_wav(encode_wav(TONE, 8000), 8000)
    assert np.array_equal(pcm, TONE)
    assert (info.channels, info.sample_rate, info.bits, info.frames) == (1, 8000, 16, 8000)


@pytest.mark.parametrize(
    ("name", "payload", "tolerance"),
    [
        ("float32", _wav(3, 1, 8000, 32, (TONE / 32768.0).astype("<f4").tobytes()), 1),
        (
            "pcm24",
            _wav(
                1,
                1,
                8000,
                24,
                b"".join((int(v) * 256).to_bytes(3, "little", signed=True) for v in TONE),
            ),
            0,
        ),
        ("pcm32", _wav(1, 1, 8000, 32, (TONE.astype(np.int32) << 16).astype("<i4").tobytes()), 0),
        ("pcm8", _wav(1, 1, 8000, 8, ((TONE >> 8) + 128).astype(np.uint8).tobytes()), 256),
        ("ulaw", _wav(7, 1, 8000, 8, pcm_to_ulaw(TONE).tobytes()), 400),
        ("alaw", _wav(6, 1, 8000, 8, pcm_to_alaw(TONE).tobytes()), 400),
        ("stereo", _wav(1, 2, 8000, 16, np.repeat(TONE, 2).astype("<i2").tobytes()), 0),
        ("extensible", _wav(1, 1, 8000, 16, TONE.astype("<i2").tobytes(), extensible=True), 0),
    ],
)
def test_every_common_encoding_reads_as_int16(name: str, payload: bytes, tolerance: int) -> None:
    pcm, _ = decode_wav(payload, 8000)
    assert pcm.dtype == np.int16 and pcm.size == TONE.size, name
    assert int(np.max(np.abs(pcm.astype(int) - TONE.astype(int)))) <= tolerance, name


def test_reads_at_the_rate_asked(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    write_wav(path, TONE, 8000)
    upsampled = read_wav(path, 16000)
    assert upsampled.size == 16000
    spectrum = np.abs(np.fft.rfft(upsampled.astype(float)))
    assert abs(float(np.fft.rfftfreq(upsampled.size, 1 / 16000)[np.argmax(spectrum)]) - 440) < 2


def test_atomic_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "out.wav"
    write_wav(path, TONE, 8000)
    write_wav(path, TONE[:100], 8000)
    assert [p.name for p in tmp_path.iterdir()] == ["out.wav"]
    assert read_wav(path, 8000).size == 100


def test_garbage_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_bytes(b"this is not audio")
    with pytest.raises(WavError, match="not a RIFF/WAVE"):
        read_wav(bad, 8000)
    with pytest.raises(WavError, match="unsupported"):
        decode_wav(_wav(0x55, 1, 8000, 16, b"\x00" * 10), 8000)  # MP3 in WAV
    with pytest.raises(WavError, match="no 'data'"):
        decode_wav(_wav(1, 1, 8000, 16, b"")[:-8], 8000)
