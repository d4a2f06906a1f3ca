"""Which disposition wins when a debtor makes several claims in one call."""

from __future__ import annotations

import pytest

from voicebot.dialog.claims import PRECEDENCE, settle
from voicebot.domain.outcome import Disposition as D


def test_every_disposition_has_a_rank() -> None:
    assert set(PRECEDENCE) == set(D)
    assert len(PRECEDENCE) == len(set(PRECEDENCE))


@pytest.mark.parametrize(
    ("first", "then", "kept"),
    [
        (D.PTP, D.DNC, D.DNC),  # opt-out + promise: the opt-out is honoured
        (D.DNC, D.PTP, D.DNC),
        (D.DISP, D.CB, D.DISP),  # dispute + callback: collection stops
        (D.CB, D.DISP, D.DISP),
        (D.DISP, D.XFER, D.XFER),  # an agent took the call
        (D.PPTP, D.PAID, D.PAID),  # "ah no, eso ya lo pagó mi hermano"
        (D.RPC, D.CB, D.CB),
        (D.RTP, D.CB, D.CB),
        (D.CB, D.PTP, D.PTP),
        (D.CB, D.TPC, D.TPC),  # a third party who leaves a callback time
        (D.PTP, D.PPTP, D.PPTP),  # an amended promise replaces the one before
        (D.PPTP, D.PTP, D.PTP),
        (None, D.RPC, D.RPC),
    ],
)
def test_precedence(first: D | None, then: D, kept: D) -> None:
    assert settle(first, then) is kept
