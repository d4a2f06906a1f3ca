"""G.711 and 8-bit linear conversions against known vectors, error bounds and audioop."""

from __future__ import annotations

import importlib
import warnings
from types import ModuleType

import numpy as np
import pytest

from voicebot.audio.codec import (
    alaw_to_pcm,
    int16_to_u8,
    pcm_to_alaw,
    pcm_to_ulaw,
    u8_to_int16,
    ulaw_to_pcm,
)

ALL_INT16 = np.arange(-32768, 32768, dtype=np.int16)
ALL_CODES = np.arange(256, dtype=np.uint8)


def _audioop() -> ModuleType:
    """Python <= 3.12 ships audioop: the reference implementation of G.711 in CPython."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return importlib.import_module("audioop")
        except ImportError:
            pytest.skip("audioop is not available on this Python")


def test_ulaw_known_vectors() -> None:
    assert ulaw_to_pcm(b"\xff\x7f\x00\x80").tolist() == [0, 0, -32124, 32124]
    assert pcm_to_ulaw(np.array([0, -1, 32767, -32768], np.int16)).tolist() == [
        0xFF,
        0x7E,  # the G.711 reference floors -1 >> 2 to -1: one step below zero
        0x80,
        0x00,
    ]


def test_alaw_known_vectors() -> None:
    assert alaw_to_pcm(b"\xd5\x55\xaa\x2a").tolist() == [8, -8, 32256, -32256]
    assert pcm_to_alaw(np.array([0, -1, 32767, -32768], np.int16)).tolist() == [
        0xD5,
        0x55,
        0xAA,
        0x2A,
    ]


def test_codes_round_trip_exactly() -> None:
    assert np.array_equal(
        pcm_to_ulaw(ulaw_to_pcm(ALL_CODES))[ALL_CODES != 0x7F], ALL_CODES[ALL_CODES != 0x7F]
    )
    assert np.array_equal(pcm_to_alaw(alaw_to_pcm(ALL_CODES)), ALL_CODES)


@pytest.mark.parametrize(
    ("encode", "decode"), [(pcm_to_ulaw, ulaw_to_pcm), (pcm_to_alaw, alaw_to_pcm)]
)
def test_round_trip_error_is_bounded_by_the_segment_step(encode, decode) -> None:  # type: ignore[no-untyped-def]
    decoded = decode(encode(ALL_INT16)).astype(np.int32)
    error = np.abs(decoded - ALL_INT16.astype(np.int32))
    # Half the quantisation step of the segment: 1/32 of the magnitude, at least 8 near zero.
    bound = np.maximum(np.abs(ALL_INT16.astype(np.int32)) // 16, 16)
    inside = np.abs(ALL_INT16.astype(np.int32)) <= 32124
    assert np.all(error[inside] <= bound[inside])
    # Signs are preserved outside the zero bins.
    big = np.abs(ALL_INT16.astype(np.int32)) > 64
    assert np.all(np.sign(decoded[big]) == np.sign(ALL_INT16[big]))


def test_matches_audioop_over_the_full_range() -> None:
    audioop = _audioop()
    raw = ALL_INT16.tobytes()
    codes = ALL_CODES.tobytes()
    assert pcm_to_ulaw(ALL_INT16).tobytes() == audioop.lin2ulaw(raw, 2)
    assert pcm_to_alaw(ALL_INT16).tobytes() == audioop.lin2alaw(raw, 2)
    assert ulaw_to_pcm(codes).tobytes() == audioop.ulaw2lin(codes, 2)
    assert alaw_to_pcm(codes).tobytes() == audioop.alaw2lin(codes, 2)
    assert int16_to_u8(ALL_INT16).tobytes() == audioop.bias(audioop.lin2lin(raw, 2, 1), 1, 128)
    assert u8_to_int16(codes).tobytes() == audioop.lin2lin(audioop.bias(codes, 1, -128), 1, 2)


def test_u8_silence_and_extremes() -> None:
    assert u8_to_int16(b"\x80\x00\xff").tolist() == [0, -32768, 32512]
    assert int16_to_u8(np.array([0, -32768, 32767], np.int16)).tolist() == [0x80, 0x00, 0xFF]
    assert np.array_equal(u8_to_int16(int16_to_u8(u8_to_int16(ALL_CODES))), u8_to_int16(ALL_CODES))


def test_wrong_dtype_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="int16"):
        pcm_to_ulaw(np.zeros(4, np.float32))
    with pytest.raises(TypeError, match="uint8"):
        ulaw_to_pcm(np.zeros(4, np.int16))


def test_empty_input_gives_empty_output() -> None:
    assert pcm_to_ulaw(np.zeros(0, np.int16)).size == 0
    assert alaw_to_pcm(b"").size == 0
