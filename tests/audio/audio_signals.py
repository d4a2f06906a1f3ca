"""Helpers for audio tests: real recordings padded with seeded line noise, cut into 20 ms frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voicebot.audio.vad import frame_dbfs

SOUNDS = Path("/usr/share/asterisk/sounds/es_MX_f_Allison")
RATE = 8000
FRAME = 160


def speech_bounds_ms(pcm: np.ndarray, level_dbfs: float = -45.0) -> tuple[int, int]:  # type: ignore[type-arg]
    """First and last 20 ms frame louder than ``level_dbfs``: where the talker really starts and stops."""
    frames = pcm[: pcm.size // FRAME * FRAME].reshape(-1, FRAME)
    loud = np.nonzero([frame_dbfs(f) > level_dbfs for f in frames])[0]
    return int(loud[0]) * 20, int(loud[-1] + 1) * 20


def padded(pcm: np.ndarray, lead_ms: int, tail_ms: int, noise_rms: float, seed: int) -> np.ndarray:  # type: ignore[type-arg]
    """``pcm`` with silence around it and seeded white line noise over everything."""
    lead, tail = np.zeros(RATE * lead_ms // 1000), np.zeros(RATE * tail_ms // 1000)
    signal = np.concatenate([lead, pcm.astype(np.float64), tail])
    noise = np.random.default_rng(seed).normal(0.0, noise_rms, signal.size)
    return np.clip(np.round(signal + noise), -32768, 32767).astype(np.int16)


def frames_of(pcm: np.ndarray) -> list[np.ndarray]:  # type: ignore[type-arg]
    return [pcm[i : i + FRAME] for i in range(0, pcm.size - FRAME + 1, FRAME)]
