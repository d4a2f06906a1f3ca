"""G.711 μ-law / A-law and 8-bit unsigned linear ⇄ int16, in pure numpy.

Exact ITU-T G.711 segment arithmetic (the same values ``audioop`` produced), so
codec output matches what any switch on the other side of the line decodes.
Decoding goes through 256-entry tables built once from the formulas; encoding
is vectorised bit arithmetic. No ``audioop``: it is gone in Python 3.13.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from voicebot.domain.pcm import Pcm

Bytes8 = npt.NDArray[np.uint8]

_ULAW_BIAS = 0x84  # 132: shifts the μ-law segments so that segment 0 starts at 0
_ULAW_BIAS14 = 0x21  # the same bias on 14-bit magnitudes (encoder side)
_ULAW_CLIP14 = 8158  # 14-bit magnitudes above this saturate to the top code


def _ulaw_decode_table() -> Pcm:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = u & 0x80
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    magnitude = (((mantissa << 3) + _ULAW_BIAS) << exponent) - _ULAW_BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def _alaw_decode_table() -> Pcm:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    sign = a & 0x80
    exponent = (a >> 4) & 0x07
    mantissa = a & 0x0F
    magnitude = np.where(
        exponent == 0,
        (mantissa << 4) + 8,
        ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0),
    )
    return np.where(sign != 0, magnitude, -magnitude).astype(np.int16)


_ULAW_TO_PCM = _ulaw_decode_table()
_ALAW_TO_PCM = _alaw_decode_table()


def _as_int32(pcm: npt.ArrayLike) -> npt.NDArray[np.int32]:
    array = np.asarray(pcm)
    if array.dtype != np.int16:
        raise TypeError(f"expected int16 PCM, got {array.dtype}")
    return array.astype(np.int32)


def _as_bytes(data: bytes | npt.ArrayLike) -> Bytes8:
    if isinstance(data, bytes | bytearray | memoryview):
        return np.frombuffer(bytes(data), dtype=np.uint8)
    array = np.asarray(data)
    if array.dtype != np.uint8:
        raise TypeError(f"expected uint8 codes, got {array.dtype}")
    return array


def pcm_to_ulaw(pcm: npt.ArrayLike) -> Bytes8:
    """Encode int16 samples to μ-law codes.

    Works on 14-bit magnitudes like the G.711 reference (and ``audioop``): the
    arithmetic shift floors negative values, so -31611 and 31611 may differ by a step.
    """
    x = _as_int32(pcm) >> 2
    sign = np.where(x < 0, 0x80, 0x00)
    magnitude = np.minimum(np.where(x < 0, -x, x), _ULAW_CLIP14) + _ULAW_BIAS14
    exponent = np.zeros(magnitude.shape, dtype=np.int32)
    for bit in range(6, 13):
        exponent = np.where(magnitude >= (1 << bit), bit - 5, exponent)
    mantissa = (magnitude >> (exponent + 1)) & 0x0F
    code: npt.NDArray[np.int32] = ~(sign | (exponent << 4) | mantissa) & 0xFF
    return code.astype(np.uint8)


def ulaw_to_pcm(codes: bytes | npt.ArrayLike) -> Pcm:
    """Decode μ-law codes to int16 samples."""
    return _ULAW_TO_PCM[_as_bytes(codes)]


def pcm_to_alaw(pcm: npt.ArrayLike) -> Bytes8:
    """Encode int16 samples to A-law codes (even bits inverted, as on the wire)."""
    x = _as_int32(pcm)
    sign = np.where(x >= 0, 0x80, 0x00)
    # A-law works on 13-bit magnitudes; negative values round toward -inf like G.191.
    magnitude = np.where(x >= 0, x, -x - 1) >> 3
    magnitude = np.minimum(magnitude, 0x0FFF)
    exponent = np.zeros(magnitude.shape, dtype=np.int32)
    for bit in range(5, 12):
        exponent = np.where(magnitude >= (1 << bit), bit - 4, exponent)
    mantissa = np.where(exponent == 0, magnitude >> 1, magnitude >> exponent) & 0x0F
    code: npt.NDArray[np.int32] = (sign | (exponent << 4) | mantissa) ^ 0x55
    return code.astype(np.uint8)


def alaw_to_pcm(codes: bytes | npt.ArrayLike) -> Pcm:
    """Decode A-law codes to int16 samples."""
    return _ALAW_TO_PCM[_as_bytes(codes)]


def u8_to_int16(data: bytes | npt.ArrayLike) -> Pcm:
    """8-bit unsigned linear (silence 0x80, as pyVoIP hands audio) to int16."""
    u8 = _as_bytes(data).astype(np.int16)
    return ((u8 - 128) << 8).astype(np.int16)


def int16_to_u8(pcm: npt.ArrayLike) -> Bytes8:
    """int16 to 8-bit unsigned linear, keeping the top 8 bits (truncation, like audioop)."""
    x = _as_int32(pcm)
    return ((x >> 8) + 128).astype(np.uint8)
