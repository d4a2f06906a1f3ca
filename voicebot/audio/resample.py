"""Sample-rate conversion between the 8 kHz line and a recognizer's or synthesizer's rate.

soxr's high-quality mode: band-limited, so upsampled line audio adds no
imaging and downsampled TTS audio adds no aliasing the recognizer would hear.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import soxr

from voicebot.domain.pcm import Pcm


def resample(samples: npt.ArrayLike, src_rate: int, dst_rate: int) -> Pcm:
    """Resample mono int16 audio from ``src_rate`` to ``dst_rate`` (Hz), returned as int16."""
    if src_rate <= 0 or dst_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {src_rate} -> {dst_rate}")
    pcm = np.asarray(samples)
    if pcm.ndim != 1:
        raise ValueError(f"expected mono audio (1-D), got shape {pcm.shape}")
    if pcm.dtype != np.int16:
        raise TypeError(f"expected int16 PCM, got {pcm.dtype}")
    if src_rate == dst_rate or pcm.size == 0:
        return pcm.copy()
    out = soxr.resample(pcm.astype(np.float32), src_rate, dst_rate, quality="HQ")
    return to_int16(out)


def to_int16(samples: npt.NDArray[np.floating[Any]]) -> Pcm:
    """Round and saturate float samples (int16 scale) to int16."""
    clipped: npt.NDArray[np.floating[Any]] = np.clip(np.round(samples), -32768, 32767)
    return clipped.astype(np.int16)


class StreamResampler:
    """Chunk-by-chunk resampling for a live stream, without clicks at chunk edges."""

    def __init__(self, src_rate: int, dst_rate: int) -> None:
        if src_rate <= 0 or dst_rate <= 0:
            raise ValueError(f"sample rates must be positive, got {src_rate} -> {dst_rate}")
        self.src_rate = src_rate
        self.dst_rate = dst_rate
        self._stream = soxr.ResampleStream(src_rate, dst_rate, 1, dtype="float32", quality="HQ")

    def feed(self, pcm: Pcm, *, last: bool = False) -> Pcm:
        out = self._stream.resample_chunk(np.asarray(pcm, dtype=np.float32), last=last)
        return to_int16(np.asarray(out, dtype=np.float32))
