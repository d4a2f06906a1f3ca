"""Campaign KPIs as collections people define them (see README "KPIs").

Pure: computed from attempt results, whether they come from a database query or
from a demo run in memory.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from voicebot.domain.outcome import Disposition

CONTACT = {d for d in Disposition if d.is_human_contact} - {Disposition.DROP}
PROMISES = {Disposition.PTP, Disposition.PPTP}


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """What the KPIs need of one finished attempt."""

    disposition: Disposition
    right_party: bool = False
    promised_amount: Decimal | None = None
    currency: str = ""
    opt_out: bool = False
    transferred: bool = False
    handling_seconds: float = 0.0
    debtor_id: str = ""


@dataclass(frozen=True, slots=True)
class CampaignKpis:
    debtors_in_campaign: int
    debtors_attempted: int
    attempts: int
    contacts: int
    right_party_contacts: int
    promises: int
    promised_amount: dict[str, Decimal]
    transfers: int
    opt_outs: int
    disputes: int
    refused_by_compliance: int
    average_handling_seconds: float
    by_disposition: dict[str, int] = field(default_factory=dict)

    @property
    def penetration(self) -> float:
        return _ratio(self.debtors_attempted, self.debtors_in_campaign)

    @property
    def contact_rate(self) -> float:
        return _ratio(self.contacts, self.attempts)

    @property
    def right_party_rate(self) -> float:
        return _ratio(self.right_party_contacts, self.attempts)

    @property
    def promise_rate(self) -> float:
        """Promises per right-party contact: the figure collections managers watch."""
        return _ratio(self.promises, self.right_party_contacts)

    def to_json(self) -> dict[str, Any]:
        return {
            "debtors_in_campaign": self.debtors_in_campaign,
            "debtors_attempted": self.debtors_attempted,
            "attempts": self.attempts,
            "contacts": self.contacts,
            "right_party_contacts": self.right_party_contacts,
            "promises": self.promises,
            "promised_amount": {k: float(v) for k, v in self.promised_amount.items()},
            "transfers": self.transfers,
            "opt_outs": self.opt_outs,
            "disputes": self.disputes,
            "refused_by_compliance": self.refused_by_compliance,
            "penetration": round(self.penetration, 4),
            "contact_rate": round(self.contact_rate, 4),
            "right_party_rate": round(self.right_party_rate, 4),
            "promise_rate": round(self.promise_rate, 4),
            "average_handling_seconds": round(self.average_handling_seconds, 1),
            "by_disposition": self.by_disposition,
        }


def compute_kpis(
    results: list[AttemptResult], *, debtors_in_campaign: int, refused_by_compliance: int = 0
) -> CampaignKpis:
    by_disposition = Counter(r.disposition.value for r in results)
    promised: dict[str, Decimal] = {}
    for r in results:
        if r.disposition in PROMISES and r.promised_amount is not None:
            promised[r.currency] = promised.get(r.currency, Decimal(0)) + r.promised_amount
    handled = [r.handling_seconds for r in results if r.disposition in CONTACT]
    return CampaignKpis(
        debtors_in_campaign=debtors_in_campaign,
        debtors_attempted=len({r.debtor_id for r in results}),
        attempts=len(results),
        contacts=sum(1 for r in results if r.disposition in CONTACT),
        right_party_contacts=sum(1 for r in results if r.right_party),
        promises=sum(1 for r in results if r.disposition in PROMISES),
        promised_amount=promised,
        transfers=sum(1 for r in results if r.transferred),
        opt_outs=sum(1 for r in results if r.opt_out),
        disputes=by_disposition.get(Disposition.DISP.value, 0),
        refused_by_compliance=refused_by_compliance,
        average_handling_seconds=sum(handled) / len(handled) if handled else 0.0,
        by_disposition=dict(sorted(by_disposition.items())),
    )


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0
