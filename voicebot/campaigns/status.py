"""A campaign's live status: attempts by state and disposition, KPIs overall and per segment.

Aggregated in SQL (GROUP BY segment and disposition), so the cost grows with the
number of segments and dispositions, not with the number of calls.

The dialing KPIs (``kpis``, ``by_segment``) count the calls the service made; the calls debtors
made to the callback number are reported apart (``inbound``): a contact rate per dial means
nothing for a call the debtor placed.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from voicebot.campaigns.kpis import CONTACT, PROMISES, CampaignKpis
from voicebot.domain.outcome import Disposition
from voicebot.storage import models as m

OUTBOUND, INBOUND = "outbound", "inbound"


def campaign_status(session: Session, *, campaign_id: int) -> dict[str, Any]:
    done = finished(campaign_id)
    return assemble(
        session.get_one(m.Campaign, campaign_id),
        members=members_by_segment(session, campaign_id),
        by_status=attempts_by_status(session, campaign_id),
        refusals=refusals_by_rule(session, campaign_id),
        attempted=_counts(
            session,
            select(m.Debtor.segment, func.count(func.distinct(m.CallAttempt.debtor_id)))
            .join(m.Debtor, m.Debtor.id == m.CallAttempt.debtor_id)
            .where(done)
            .group_by(m.Debtor.segment),
        ),
        tallies=finished_tallies(session, done),
        promised=promised_by_segment(session, campaign_id),
        inbound=inbound_kpis(session, campaign_id),
        follow_ups=follow_up_kpis(session, campaign_id),
        follow_ups_by_segment=follow_ups_by_segment(session, campaign_id),
    )


def finished(campaign_id: int, direction: str = OUTBOUND) -> ColumnElement[bool]:
    """The attempts the KPIs count: the campaign's finished ones in one direction."""
    return (
        (m.CallAttempt.campaign_id == campaign_id)
        & (m.CallAttempt.status == "done")
        & (m.CallAttempt.direction == direction)
    )


def inbound_kpis(session: Session, campaign_id: int) -> dict[str, Any]:
    """The calls debtors made to the callback number, counted apart from the dialing KPIs."""
    done = finished(campaign_id, INBOUND)
    inbound = Tally()
    for tally in finished_tallies(session, done).values():
        inbound.merge(tally)
    for amounts in promised_by_segment(session, campaign_id, INBOUND).values():
        for currency, amount in amounts.items():
            inbound.promised[currency] = inbound.promised.get(currency, Decimal(0)) + amount
    callers = session.scalar(select(func.count(func.distinct(m.CallAttempt.debtor_id))).where(done))
    members = session.scalar(
        select(func.count()).where(m.CampaignDebtor.campaign_id == campaign_id)
    )
    return inbound.kpis(
        debtors_in_campaign=int(members or 0), debtors_attempted=int(callers or 0)
    ).to_json()


def members_by_segment(session: Session, campaign_id: int) -> dict[Any, int]:
    return _counts(
        session,
        select(m.Debtor.segment, func.count())
        .join(m.CampaignDebtor, m.CampaignDebtor.debtor_id == m.Debtor.id)
        .where(m.CampaignDebtor.campaign_id == campaign_id)
        .group_by(m.Debtor.segment),
    )


def attempts_by_status(session: Session, campaign_id: int) -> dict[Any, int]:
    return _counts(
        session,
        select(m.CallAttempt.status, func.count())
        .where(m.CallAttempt.campaign_id == campaign_id, m.CallAttempt.direction == OUTBOUND)
        .group_by(m.CallAttempt.status),
    )


def refusals_by_rule(session: Session, campaign_id: int) -> dict[Any, int]:
    return _counts(
        session,
        select(m.AuditEntry.rule, func.count())
        .where(m.AuditEntry.campaign_id == campaign_id, m.AuditEntry.action == "dial_refused")
        .group_by(m.AuditEntry.rule),
    )


def assemble(
    campaign: m.Campaign,
    *,
    members: dict[Any, int],
    by_status: dict[Any, int],
    refusals: dict[Any, int],
    attempted: dict[Any, int],
    tallies: dict[str, Tally],
    promised: dict[str, dict[str, Decimal]],
    inbound: dict[str, Any] | None = None,
    follow_ups: dict[str, Any] | None = None,
    follow_ups_by_segment: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The status document from its parts (``tallies`` are left untouched); ``inbound`` is
    the callback number's block and ``follow_ups`` (``follow_up_kpis``) joins the
    campaign-wide KPIs, ``follow_ups_by_segment`` each segment's, when the caller has them."""
    combined: dict[str, Tally] = defaultdict(Tally)
    for segment, tally in tallies.items():
        combined[segment].merge(tally)
    for segment, amounts in promised.items():
        money = combined[segment].promised
        for currency, amount in amounts.items():
            money[currency] = money.get(currency, Decimal(0)) + amount
    total = Tally()
    for tally in combined.values():
        total.merge(tally)
    overall = total.kpis(
        debtors_in_campaign=sum(members.values()),
        debtors_attempted=sum(attempted.values()),
        refused_by_compliance=sum(refusals.values()),
    )
    by_segment: dict[str, dict[str, Any]] = {
        segment or "(none)": tally.kpis(
            debtors_in_campaign=members.get(segment, 0),
            debtors_attempted=attempted.get(segment, 0),
        ).to_json()
        for segment, tally in sorted(combined.items())
    }
    for segment, kpis in (follow_ups_by_segment or {}).items():
        if (segment or "(none)") in by_segment:
            by_segment[segment or "(none)"].update(kpis)
    document = {
        "campaign": campaign.name,
        "status": campaign.status,
        "jurisdiction": campaign.jurisdiction,
        "attempts_by_status": by_status,
        "kpis": {**overall.to_json(), **(follow_ups or {})},
        "refused_by_rule": refusals,
        "by_segment": by_segment,
    }
    if inbound is not None:
        document["inbound"] = inbound
    return document


# Texts that reached the provider (the network may still refuse them: see their status).
SENT_TEXTS = (
    "claimed",
    "unknown",
    "accepted",
    "scheduled",
    "queued",
    "sending",
    "sent",
    "delivered",
    "read",
)


def follow_up_kpis(session: Session, campaign_id: int) -> dict[str, Any]:
    """What happened after the calls: promises kept or broken, money recovered, texts sent.

    ``kept_rate`` is kept / (kept + broken): only promises whose fate is known count, so a
    campaign with promises still pending is not penalised for them. ``recovered_amount``
    sums the payments matched to this campaign's promises, per currency.
    """
    return _follow_ups(session, campaign_id).get(None, _follow_up_block({}, [], {}))


def follow_ups_by_segment(session: Session, campaign_id: int) -> dict[str, dict[str, Any]]:
    """The same KPIs per debtor segment: which segments keep their promises, and pay."""
    return {
        str(segment): block
        for segment, block in _follow_ups(session, campaign_id, per_segment=True).items()
    }


def _follow_ups(
    session: Session, campaign_id: int, *, per_segment: bool = False
) -> dict[str | None, dict[str, Any]]:
    """Follow-up KPIs keyed by segment (``per_segment``) or under ``None`` (campaign-wide)."""
    keys = [m.Debtor.segment] if per_segment else []

    def rows(query: Executable) -> list[tuple[str | None, Any, Any]]:
        found = session.execute(query).all()
        return [(r[0], r[1], r[2]) if per_segment else (None, r[0], r[1]) for r in found]

    promises = rows(
        select(*keys, m.PromiseToPay.status, func.count())
        .join(m.Debtor, m.Debtor.id == m.PromiseToPay.debtor_id)
        .where(m.PromiseToPay.campaign_id == campaign_id)
        .group_by(*keys, m.PromiseToPay.status)
    )
    recovered = rows(
        select(*keys, m.Payment.currency, func.sum(m.Payment.amount))
        .join(m.PromiseToPay, m.PromiseToPay.id == m.Payment.promise_id)
        .join(m.Debtor, m.Debtor.id == m.PromiseToPay.debtor_id)
        .where(m.PromiseToPay.campaign_id == campaign_id)
        .group_by(*keys, m.Payment.currency)
    )
    texts = rows(
        select(*keys, m.Message.status, func.count())
        .join(m.Debtor, m.Debtor.id == m.Message.debtor_id)
        .where(m.Message.campaign_id == campaign_id)
        .group_by(*keys, m.Message.status)
    )
    groups = {g for g, _, _ in promises} | {g for g, _, _ in recovered} | {g for g, _, _ in texts}
    return {
        group: _follow_up_block(
            {status: n for g, status, n in promises if g == group},
            [(currency, amount) for g, currency, amount in recovered if g == group],
            {status: n for g, status, n in texts if g == group},
        )
        for group in groups
    }


def _follow_up_block(
    promises: dict[str, int], recovered: list[tuple[str, Any]], texts: dict[str, int]
) -> dict[str, Any]:
    kept, broken = promises.get("kept", 0), promises.get("broken", 0)
    return {
        "promises_kept": kept,
        "promises_broken": broken,
        "kept_rate": round(kept / (kept + broken), 4) if kept + broken else 0.0,
        "recovered_amount": {c: float(a or 0) for c, a in sorted(recovered)},
        "messages_sent": sum(n for status, n in texts.items() if status in SENT_TEXTS),
        "messages_refused": texts.get("refused", 0),
    }


def _counts(session: Session, query: Select[Any, int]) -> dict[Any, int]:
    """A ``key, count`` grouped query as a dict."""
    return {key: count for key, count in session.execute(query)}


def finished_tallies(session: Session, attempts: ColumnElement[bool]) -> dict[str, Tally]:
    """Finished ``attempts`` by segment and disposition (promises apart: ``promised_by_segment``)."""
    seconds = _duration_seconds(session, m.CallRecord.started_at, m.CallRecord.ended_at)
    rows = session.execute(
        select(
            m.Debtor.segment,
            m.CallAttempt.disposition,
            func.count(),
            func.sum(case((m.CallRecord.right_party, 1), else_=0)),
            func.sum(case((m.CallRecord.opt_out, 1), else_=0)),
            func.sum(case((m.CallRecord.transfer_reason.is_not(None), 1), else_=0)),
            func.sum(seconds),
        )
        .join(m.Debtor, m.Debtor.id == m.CallAttempt.debtor_id)
        .outerjoin(m.CallRecord, m.CallRecord.attempt_id == m.CallAttempt.id)
        .where(attempts, m.CallAttempt.disposition.is_not(None))
        .group_by(m.Debtor.segment, m.CallAttempt.disposition)
    ).all()
    tallies: dict[str, Tally] = defaultdict(Tally)
    for segment, disposition, count, rp, opt_out, transferred, handled in rows:
        tallies[segment or ""].add(
            Disposition(str(disposition)), count, rp, opt_out, transferred, handled
        )
    return tallies


def promised_by_segment(
    session: Session, campaign_id: int, direction: str = OUTBOUND
) -> dict[str, dict[str, Decimal]]:
    """The amounts promised in the campaign's calls of one direction, per segment and currency."""
    promised = session.execute(
        select(
            m.Debtor.segment,
            m.PromiseToPay.currency,
            func.sum(m.PromiseToPay.amount * m.PromiseToPay.instalments),
        )
        .join(m.Debtor, m.Debtor.id == m.PromiseToPay.debtor_id)
        .join(m.CallAttempt, m.CallAttempt.id == m.PromiseToPay.attempt_id)
        .where(m.PromiseToPay.campaign_id == campaign_id, m.CallAttempt.direction == direction)
        .group_by(m.Debtor.segment, m.PromiseToPay.currency)
    ).all()
    amounts: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for segment, currency, amount in promised:
        money = amounts[segment or ""]
        money[currency] = money.get(currency, Decimal(0)) + Decimal(amount or 0)
    return amounts


def _duration_seconds(session: Session, start: Any, end: Any) -> Any:
    """``end - start`` in seconds, in the database's own dialect (SQLite has no interval type)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


class Tally:
    """Sums of finished attempts that merge: one per segment, or per batch of attempts."""

    def __init__(self) -> None:
        self.by_disposition: dict[str, int] = {}
        self.right_party = 0
        self.opt_outs = 0
        self.transfers = 0
        self.contact_seconds = 0.0
        self.promised: dict[str, Decimal] = {}

    def add(
        self,
        disposition: Disposition,
        count: int,
        right_party: int | None,
        opt_outs: int | None,
        transfers: int | None,
        seconds: float | None,
    ) -> None:
        self.by_disposition[disposition.value] = (
            self.by_disposition.get(disposition.value, 0) + count
        )
        self.right_party += int(right_party or 0)
        self.opt_outs += int(opt_outs or 0)
        self.transfers += int(transfers or 0)
        if disposition in CONTACT:
            self.contact_seconds += float(seconds or 0.0)

    def merge(self, other: Tally) -> None:
        for code, count in other.by_disposition.items():
            self.by_disposition[code] = self.by_disposition.get(code, 0) + count
        self.right_party += other.right_party
        self.opt_outs += other.opt_outs
        self.transfers += other.transfers
        self.contact_seconds += other.contact_seconds
        for currency, amount in other.promised.items():
            self.promised[currency] = self.promised.get(currency, Decimal(0)) + amount

    def kpis(
        self, *, debtors_in_campaign: int, debtors_attempted: int, refused_by_compliance: int = 0
    ) -> CampaignKpis:
        contacts = sum(n for code, n in self.by_disposition.items() if Disposition(code) in CONTACT)
        return CampaignKpis(
            debtors_in_campaign=debtors_in_campaign,
            debtors_attempted=debtors_attempted,
            attempts=sum(self.by_disposition.values()),
            contacts=contacts,
            right_party_contacts=self.right_party,
            promises=sum(
                n for code, n in self.by_disposition.items() if Disposition(code) in PROMISES
            ),
            promised_amount=dict(sorted(self.promised.items())),
            transfers=self.transfers,
            opt_outs=self.opt_outs,
            disputes=self.by_disposition.get(Disposition.DISP.value, 0),
            refused_by_compliance=refused_by_compliance,
            average_handling_seconds=self.contact_seconds / contacts if contacts else 0.0,
            by_disposition=dict(sorted(self.by_disposition.items())),
        )
