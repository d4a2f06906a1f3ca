"""pyVoIP 1.6.8, imported the one way that works; import pyVoIP only through this module.

(g) ``from pyVoIP import SIP`` before ``import pyVoIP.VoIP`` is a circular import.
(h) pyVoIP imports ``audioop`` (gone in Python 3.13); no path we use calls it, so a
stand-in that raises on use lets pyVoIP import. See SIP.md for the whole fix list.
"""

from __future__ import annotations

import importlib
import sys
import types
import warnings


def _install_audioop_stand_in() -> None:
    """(h) Let pyVoIP import on Pythons without ``audioop``; the fixed classes never call it."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
            importlib.import_module("audioop")
        return
    except ImportError:
        pass
    stand_in = types.ModuleType("audioop")

    def _unsupported(*_args: object, **_kwargs: object) -> bytes:
        raise NotImplementedError("audioop is gone; use voicebot.telephony fixed classes")

    for name in ("ulaw2lin", "lin2ulaw", "alaw2lin", "lin2alaw", "bias", "add"):
        setattr(stand_in, name, _unsupported)
    sys.modules["audioop"] = stand_in


_install_audioop_stand_in()

# (g) This order matters: pyVoIP.VoIP first, then SIP and RTP. Python 3.11/3.12
# warn that audioop is deprecated; we know, and (h) is why it no longer matters.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import pyVoIP.VoIP
from pyVoIP import RTP, SIP  # noqa: E402
from pyVoIP.VoIP import CallState, NoPortsAvailableError, VoIPCall, VoIPPhone  # noqa: E402

__all__ = ["RTP", "SIP", "CallState", "NoPortsAvailableError", "VoIPCall", "VoIPPhone", "pyVoIP"]
