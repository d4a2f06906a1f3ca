"""The one audio frame type, and the line's rate and frame size.

Invariant: audio crosses the carrier edge as 8 kHz mono int16 frames of 20 ms (160 samples);
inside, arrays of the same type carry int16 PCM at whatever rate a function names explicitly.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Pcm = npt.NDArray[np.int16]
"""Mono signed 16-bit samples; the rate always travels beside it, never inside."""

LINE_RATE = 8000
"""Samples per second at the carrier edge (G.711 narrowband telephony)."""

FRAME_SAMPLES = 160
"""20 ms at ``LINE_RATE``: the unit carriers exchange and the VAD judges."""
