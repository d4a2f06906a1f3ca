"""Put the repository root on ``sys.path``: benchmarks use ``testbeds/``, which is not installed.

Imported for its side effect before ``testbeds`` (``import _repo  # noqa: F401``).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
