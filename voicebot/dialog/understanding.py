"""The result of understanding one debtor utterance: an intent plus entities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Intent(StrEnum):
    AFFIRM = "affirm"
    DENY = "deny"
    WRONG_NUMBER = "wrong_number"
    THIRD_PARTY = "third_party"
    PROMISE_TO_PAY = "promise_to_pay"
    ALREADY_PAID = "already_paid"
    CANNOT_PAY = "cannot_pay"
    DISPUTE = "dispute"
    CALLBACK_REQUEST = "callback_request"
    AGENT_REQUEST = "agent_request"
    STOP_CALLING = "stop_calling"
    PAYMENT_PLAN_REQUEST = "payment_plan_request"
    ASK_INFO = "ask_info"
    REPEAT = "repeat"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Understanding:
    intent: Intent
    confidence: float = 1.0
    amount: Decimal | None = None  # in the debtor's currency units
    date: date | None = None  # a calendar day relative to the call date (debtor's zone)
    callback_at: datetime | None = None  # aware datetime in the debtor's zone
    full_balance: bool = False  # "el saldo completo", "todo": amount = what is owed
    instalments: int | None = None  # "en tres cuotas"
    digits: str | None = None  # digit strings said aloud ("uno dos tres cuatro")
    channel: str | None = None  # how a payment was made: "transferencia", "sucursal", ...
    share: Decimal | None = None  # a share of the balance: "la mitad" = 0.5
    clock: time | None = None  # a time of day said ("a las tres", "en la tarde"), day aside

    def to_json(self) -> dict[str, Any]:
        amount: int | float | None = None
        if self.amount is not None:
            integral = self.amount == self.amount.to_integral_value()
            amount = int(self.amount) if integral else float(self.amount)
        return {
            "intent": self.intent.value,
            "confidence": round(self.confidence, 3),
            "amount": amount,
            "date": self.date.isoformat() if self.date else None,
            "callback_at": self.callback_at.isoformat() if self.callback_at else None,
            "full_balance": self.full_balance,
            "instalments": self.instalments,
            "digits": self.digits,
            "channel": self.channel,
            "clock": self.clock.isoformat(timespec="minutes") if self.clock else None,
        }
