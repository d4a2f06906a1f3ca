"""Which disposition a call keeps when the debtor makes several claims in one call.

Claims are settled the moment they are made, so a hang-up one second later keeps
them; when a later claim competes with an earlier one, the higher rank wins and
the details of both stay in the outcome (the promise, the callback time, the
dispute reason, the payment details). The order puts the debtor's rights first:

    DNC > XFER > DISP > WPC > PAID > PTP > PPTP > TPC > CB > RTP > RPC > DROP

- An opt-out is honoured whatever else was agreed (opt-out + promise → DNC,
  the promise is still recorded).
- A call an agent took (XFER) is the agent's to settle; what the debtor claimed
  before (a dispute reason, a promise) stays in the outcome for the agent.
- A dispute stops collection of that debt: dispute + callback → DISP with the
  callback time kept.
- A debtor who says it is already paid is not held to a promise made before
  saying so (promise + paid → PAID).
- A promise amended later replaces the earlier one (PTP ↔ PPTP).
- A promise outranks a callback or a refusal: the callback is still scheduled.
- A third party who asks to be called back is still a third-party contact (TPC,
  the callback time kept).
"""

from __future__ import annotations

from voicebot.domain.outcome import Disposition

PRECEDENCE: tuple[Disposition, ...] = (
    Disposition.DNC,
    Disposition.XFER,
    Disposition.DISP,
    Disposition.WPC,
    Disposition.PAID,
    Disposition.PTP,
    Disposition.PPTP,
    Disposition.TPC,
    Disposition.CB,
    Disposition.RTP,
    Disposition.RPC,
    Disposition.DROP,
    Disposition.VM,
    Disposition.FAIL,
    Disposition.BUSY,
    Disposition.NA,
)
_PROMISES = {Disposition.PTP, Disposition.PPTP}
_RANK = {code: len(PRECEDENCE) - i for i, code in enumerate(PRECEDENCE)}


def settle(current: Disposition | None, claim: Disposition) -> Disposition:
    """The disposition after ``claim``: the higher-ranked of the two."""
    if current is None or _RANK[claim] >= _RANK[current]:
        return claim
    if {current, claim} <= _PROMISES:
        return claim  # an amended promise replaces the one before

    return current


def amend(before: str | None, said: str) -> str | None:
    """What the debtor said, added to what they had already said about the same claim."""
    if not said:
        return before
    if before and said not in before:
        return f"{before}; {said}"
    return before or said
