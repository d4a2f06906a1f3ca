"""Real Mexican-Spanish human speech from Debian's asterisk-core-sounds-es-wav."""

from __future__ import annotations

import numpy as np
import pytest
from audio_signals import RATE, SOUNDS

from voicebot.audio.wav import read_wav


@pytest.fixture(scope="session")
def spanish_recordings() -> dict[str, np.ndarray]:  # type: ignore[type-arg]
    """Every prompt of the package as 8 kHz int16, by name (e.g. ``vm-goodbye``)."""
    if not SOUNDS.is_dir():
        pytest.skip("apt-get install asterisk-core-sounds-es-wav")
    return {path.stem: read_wav(path, RATE) for path in sorted(SOUNDS.glob("*.wav"))}
