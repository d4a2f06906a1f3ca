"""Who is being called and on what terms: the read-only facts a dialog runs on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


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


DEFAULT_COMPANY = "Gestión de Cartera"
OUTBOUND, INBOUND = "outbound", "inbound"


@dataclass(frozen=True, slots=True)
class PendingPromise:
    """A promise the debtor made earlier and has not yet kept: an inbound call resumes it."""

    amount: Decimal
    currency: str
    due: date
    instalments: int = 1


class DebtorDirectory(Protocol):
    """Who a caller may be: a read-only lookup of debtors by their full ID document.

    An inbound dialog consults it to identify a caller whose number matches no debtor, or
    several; the answers are whole call contexts (debtor, debts, the campaign's terms).
    """

    def by_document(self, digits: str) -> tuple[CallContext, ...]: ...


@dataclass(frozen=True, slots=True)
class CallContext:
    debtor: Debtor
    today: date
    company: str = DEFAULT_COMPANY  # a name that does not reveal collection to third parties
    callback_number: str = ""
    limits: NegotiationLimits = field(default_factory=NegotiationLimits)
    settings: dict[str, bool | int | str] = field(default_factory=dict)
    direction: str = OUTBOUND
    debtor_ref: str = ""  # the storage's key of the debtor ("" : not known yet)
    caller_id: str = ""  # inbound: the caller's number (E.164)
    caller_match: str = ""  # inbound: "one", "several" or "unknown" debtors on caller_id
    directory: DebtorDirectory | None = None  # inbound: where a document finds the debtor
    pending_promise: PendingPromise | None = None
    pending_callback: datetime | None = None


class ContextError(ValueError):
    """A debtor/campaign description that cannot drive a call."""


def context_from_json(data: Any, *, today: date) -> CallContext:
    """Build a call context from the JSON shape used by ``voicebot simulate --debtor``.

    ``{"name", "document_id", "timezone", "gender", "debts": [{"creditor", "amount",
    "currency", "days_past_due", "product"}], "limits": {...}, "company",
    "callback_number", "settings": {...}}``
    """
    if not isinstance(data, dict):
        raise ContextError("debtor: expected a JSON object")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ContextError("debtor.name: required text")
    debts: list[Debt] = []
    for i, raw in enumerate(data.get("debts") or []):
        try:
            debts.append(
                Debt(
                    creditor=str(raw["creditor"]),
                    amount=Decimal(str(raw["amount"])),
                    currency=str(raw.get("currency", "COP")).upper(),
                    days_past_due=int(raw.get("days_past_due", 0)),
                    product=str(raw.get("product", "")),
                )
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise ContextError(f"debtor.debts[{i}]: {exc!r}") from exc
    timezone = str(data.get("timezone", "America/Bogota"))
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ContextError(f"debtor.timezone: unknown time zone {timezone!r}") from exc
    limits_raw = data.get("limits") or {}
    try:
        limits = NegotiationLimits(
            min_payment=Decimal(str(limits_raw.get("min_payment", 0))),
            max_days_ahead=int(limits_raw.get("max_days_ahead", 30)),
            max_instalments=int(limits_raw.get("max_instalments", 6)),
            min_instalment=Decimal(str(limits_raw.get("min_instalment", 0))),
        )
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise ContextError(f"debtor.limits: {exc!r}") from exc
    settings = data.get("settings") or {}
    if not isinstance(settings, dict):
        raise ContextError("debtor.settings: expected an object")
    return CallContext(
        debtor=Debtor(
            full_name=name.strip(),
            document_id=str(data.get("document_id", "")),
            timezone=timezone,
            debts=tuple(debts),
            gender=str(data.get("gender", "")),
        ),
        today=today,
        company=str(data.get("company", DEFAULT_COMPANY)),
        callback_number=str(data.get("callback_number", "")),
        limits=limits,
        settings=settings,
    )
