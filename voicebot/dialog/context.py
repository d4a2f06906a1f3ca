"""Who is being called and on what terms: the read-only facts a dialog runs on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Debt:
    creditor: str
    amount: Decimal
    currency: str
    days_past_due: int
    product: str = ""


@dataclass(frozen=True, slots=True)
class Debtor:
    full_name: str
    document_id: str = ""
    timezone: str = "America/Bogota"
    debts: tuple[Debt, ...] = ()
    gender: str = ""  # "f" / "m" / "" : only to choose "señor"/"señora" in prompts

    @property
    def first_name(self) -> str:
        return self.full_name.split()[0] if self.full_name.strip() else ""

    @property
    def total_due(self) -> Decimal:
        return sum((d.amount for d in self.debts), Decimal(0))

    @property
    def currency(self) -> str:
        return self.debts[0].currency if self.debts else "COP"


@dataclass(frozen=True, slots=True)
class NegotiationLimits:
    """What the creditor lets the bot accept without a human (set per campaign)."""

    min_payment: Decimal = Decimal(0)  # smallest single payment accepted now
    max_days_ahead: int = 30  # a promise further out is not accepted
    max_instalments: int = 6
    min_instalment: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class CallContext:
    debtor: Debtor
    today: date
    company: str = "Gestión de Cartera"  # never reveals collection purpose to third parties
    callback_number: str = ""
    limits: NegotiationLimits = field(default_factory=NegotiationLimits)
    settings: dict[str, bool | int | str] = field(default_factory=dict)
