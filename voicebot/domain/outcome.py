"""The structured result of one call: what the creditor's systems and KPIs consume.

Disposition codes are the industry's (see README "Dispositions"); the dialog
produces the conversational ones, carriers produce NA/BUSY/FAIL/VM.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Disposition(StrEnum):
    NA = "NA"  # no answer (ring timeout, decline, congestion)
    BUSY = "BUSY"  # busy signal / 486
    FAIL = "FAIL"  # the number failed (404, invalid), fax, carrier error
    VM = "VM"  # answering machine detected
    WPC = "WPC"  # wrong party: the number is not the debtor's
    TPC = "TPC"  # third party who knows the debtor; nothing disclosed
    RPC = "RPC"  # right party verified, no other result
    PTP = "PTP"  # promise to pay the full amount due
    PPTP = "PPTP"  # partial promise (below the full balance)
    PAID = "PAID"  # debtor says it is already paid
    RTP = "RTP"  # refuses / cannot pay
    DISP = "DISP"  # dispute: stop collecting this debt until resolved
    CB = "CB"  # callback requested
    XFER = "XFER"  # transferred to a human agent
    DNC = "DNC"  # opt-out: never call again
    DROP = "DROP"  # hung up / dropped before any result

    @property
    def is_human_contact(self) -> bool:
        return self not in {Disposition.NA, Disposition.BUSY, Disposition.FAIL, Disposition.VM}


DISPOSITION_MEANINGS: dict[Disposition, str] = {
    Disposition.NA: "no answer (ring timeout, decline, trunk congestion)",
    Disposition.BUSY: "busy signal / 486",
    Disposition.FAIL: "number failure (404, invalid), fax or carrier error",
    Disposition.VM: "answering machine / voicemail detected",
    Disposition.WPC: "wrong party: the number does not belong to the debtor",
    Disposition.TPC: "third party contact: no disclosure made",
    Disposition.RPC: "right party contact: identity verified",
    Disposition.PTP: "promise to pay the full balance (amount, currency, date)",
    Disposition.PPTP: "partial promise (below the full balance)",
    Disposition.PAID: "debtor says already paid (date, channel)",
    Disposition.RTP: "refuses or cannot pay",
    Disposition.DISP: "dispute: stop collecting that debt until resolved",
    Disposition.CB: "callback requested (when)",
    Disposition.XFER: "transferred to a human agent (reason)",
    Disposition.DNC: "opt-out / do not call",
    Disposition.DROP: "call dropped / debtor hung up mid-call",
}


@dataclass(frozen=True, slots=True)
class Promise:
    amount: Decimal
    currency: str
    due: date
    instalments: int = 1
    partial: bool = False
    # The debtor's answer to the offer of the payment link by text: sms | whatsapp | none;
    # None: not offered (the campaign sends no texts, or the call ended first).
    link_requested: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "amount": _number(self.amount),
            "currency": self.currency,
            "date": self.due.isoformat(),
            "instalments": self.instalments,
            "partial": self.partial,
        }
        if self.link_requested is not None:
            data["link_requested"] = self.link_requested
        return data


@dataclass(frozen=True, slots=True)
class Turn:
    """One line of the transcript. ``speaker`` is "bot" or "debtor"."""

    at: datetime
    speaker: str
    text: str
    intent: str | None = None
    confidence: float | None = None
    prompt: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "at": self.at.isoformat(),
            "speaker": self.speaker,
            "text": self.text,
        }
        if self.prompt is not None:
            data["prompt"] = self.prompt
        if self.intent is not None:
            data["intent"] = self.intent
        if self.confidence is not None:
            data["confidence"] = round(self.confidence, 3)
        return data


@dataclass(frozen=True, slots=True)
class CallOutcome:
    disposition: Disposition
    started_at: datetime
    ended_at: datetime
    promise: Promise | None = None
    callback_at: datetime | None = None
    transfer_reason: str | None = None
    right_party_contacted: bool = False
    disclosure_made: bool = False
    opt_out: bool = False
    phone_invalid: bool = False
    dispute_reason: str | None = None
    paid_info: str | None = None
    final_state: str = ""
    transcript: tuple[Turn, ...] = field(default_factory=tuple)
    # Why the line ended the call when nobody hung up (SIP: "rtp_timeout", "session_expired").
    line_reason: str = ""
    direction: str = "outbound"  # "inbound": the debtor called the callback number
    caller_id: str = ""  # inbound: the number the debtor called from

    @property
    def inbound(self) -> bool:
        return self.direction == "inbound"

    def to_json(self) -> dict[str, Any]:
        return {
            "disposition": self.disposition.value,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat(),
            "promise": self.promise.to_json() if self.promise else None,
            "callback_at": self.callback_at.isoformat() if self.callback_at else None,
            "transfer_reason": self.transfer_reason,
            "flags": {
                "right_party_contacted": self.right_party_contacted,
                "disclosure_made": self.disclosure_made,
                "opt_out": self.opt_out,
                "phone_invalid": self.phone_invalid,
            },
            "dispute_reason": self.dispute_reason,
            "paid_info": self.paid_info,
            "final_state": self.final_state,
            "direction": self.direction,
            **({"caller_id": self.caller_id} if self.caller_id else {}),
            "transcript": [t.to_json() for t in self.transcript],
        }


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)
