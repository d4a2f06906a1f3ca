"""Payments the creditor reports, matched to promises; promises kept, partly kept, broken.

A payment names the debt by the creditor's reference (and, when references repeat across
debtors, the debtor's id) and is imported once (its ``payment_id``). It goes to the
debtor's pending promise with that amount, else to the earliest one due; a payment short
of the promise is partial and the promise stays pending until the payments add up. A
promise still pending ``grace_days`` after its date is broken: the debtor goes back in the
hopper with its segment's next step (the campaign's ``after_broken``: a text first or a
call, after how long, at what priority; unless a call is already queued for them) and its
reminder texts are dropped.
A file with any bad line imports nothing: every bad line is reported with its number.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from voicebot.followups.broken_strategy import DEFAULT_STEP, BrokenPromiseStep
from voicebot.followups.policy import PolicyError, read_policy
from voicebot.followups.queueing import queue_broken_notice
from voicebot.storage import models as m
from voicebot.storage.repositories import append_audit, enqueue_event

COLUMNS = ("payment_id", "debt_ref", "amount", "currency", "paid_on")
OPTIONAL = ("debtor_id",)  # the creditor's debtor id: needed only when a debt_ref repeats
GRACE_DAYS = 1


class PaymentsError(ValueError):
    """A payments file that cannot be imported; one line per problem, with its line number."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class PaymentRow:
    line: int
    payment_id: str
    debt_ref: str
    amount: Decimal
    currency: str
    paid_on: date
    debtor_ref: str = ""


@dataclass
class ImportReport:
    imported: int = 0
    already_imported: int = 0
    unmatched: int = 0  # no pending promise for that debt: stored, counted as recovered
    partial: int = 0
    kept: list[int] = field(default_factory=list)  # promise ids


def parse_payments(text: str) -> list[PaymentRow]:
    """The rows of a payments CSV; raises PaymentsError naming every bad line."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise PaymentsError([f"line 1: missing columns {', '.join(missing)}"])
    extra = [c for c in header if c not in COLUMNS + OPTIONAL]
    if extra:
        raise PaymentsError([f"line 1: unknown columns {', '.join(extra)}"])
    rows: list[PaymentRow] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for raw in reader:
        line = reader.line_num
        values = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        try:
            row = _row(line, values)
        except ValueError as exc:
            problems.append(f"line {line}: {exc}")
            continue
        if row.payment_id in seen:
            problems.append(
                f"line {line}: payment_id {row.payment_id!r} repeats line {seen[row.payment_id]}"
            )
            continue
        seen[row.payment_id] = line
        rows.append(row)
    if problems:
        raise PaymentsError(problems)
    return rows


def _row(line: int, values: dict[str, str]) -> PaymentRow:
    for column in COLUMNS:
        if not values.get(column):
            raise ValueError(f"{column} is empty")
    try:
        amount = Decimal(values["amount"].replace(",", ""))
    except InvalidOperation as exc:
        raise ValueError(f"amount {values['amount']!r} is not a number") from exc
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"amount {values['amount']!r} must be positive")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"amount {values['amount']!r} has more than two decimals")
    try:
        paid_on = date.fromisoformat(values["paid_on"])
    except ValueError as exc:
        raise ValueError(f"paid_on {values['paid_on']!r} is not a date (YYYY-MM-DD)") from exc
    currency = values["currency"].upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ValueError(f"currency {values['currency']!r} is not an ISO code")
    return PaymentRow(
        line,
        values["payment_id"][:64],
        values["debt_ref"],
        amount,
        currency,
        paid_on,
        values.get("debtor_id", ""),
    )


def _debt(s: Session, row: PaymentRow) -> m.Debt:
    query = select(m.Debt).where(m.Debt.external_ref == row.debt_ref)
    if row.debtor_ref:
        query = query.join(m.Debtor, m.Debtor.id == m.Debt.debtor_id).where(
            m.Debtor.external_id == row.debtor_ref
        )
    debts = list(s.scalars(query.limit(2)))
    if not debts:
        raise ValueError(f"no debt with reference {row.debt_ref!r}")
    if len(debts) > 1:
        raise ValueError(f"debt reference {row.debt_ref!r} is not unique: add debtor_id")
    if debts[0].currency != row.currency:
        raise ValueError(f"currency {row.currency} but the debt is in {debts[0].currency}")
    return debts[0]


def _promise(s: Session, debtor_id: int, amount: Decimal) -> m.PromiseToPay | None:
    pending = list(
        s.scalars(
            select(m.PromiseToPay)
            .where(m.PromiseToPay.debtor_id == debtor_id, m.PromiseToPay.status == "pending")
            .order_by(m.PromiseToPay.due_date, m.PromiseToPay.id)
        )
    )
    exact = [p for p in pending if p.amount - (p.paid_amount or 0) == amount]
    matches = exact or pending
    return matches[0] if matches else None


def import_payments(
    s: Session, rows: list[PaymentRow], *, source: str, actor: str, now: datetime
) -> ImportReport:
    """Store and match every row in the caller's transaction (all or nothing)."""
    problems: list[str] = []
    resolved: list[tuple[PaymentRow, m.Debt]] = []
    for row in rows:
        try:
            resolved.append((row, _debt(s, row)))
        except ValueError as exc:
            problems.append(f"line {row.line}: {exc}")
    if problems:
        raise PaymentsError(problems)
    report = ImportReport()
    for row, debt in resolved:
        if s.scalar(select(m.Payment.id).where(m.Payment.external_id == row.payment_id)):
            report.already_imported += 1
            continue
        promise = _promise(s, debt.debtor_id, row.amount)
        s.add(
            m.Payment(
                external_id=row.payment_id,
                debt_id=debt.id,
                debtor_id=debt.debtor_id,
                promise_id=promise.id if promise else None,
                amount=row.amount,
                currency=row.currency,
                paid_on=row.paid_on,
                source=source[:120],
                recorded_at=now,
            )
        )
        report.imported += 1
        if promise is None:
            report.unmatched += 1
            continue
        promise.paid_amount = (promise.paid_amount or Decimal(0)) + row.amount
        if promise.paid_amount >= promise.amount:
            keep(s, promise, paid_on=row.paid_on, actor=actor, now=now)
            report.kept.append(promise.id)
        else:
            report.partial += 1
            append_audit(
                s,
                actor=actor,
                action="promise_partly_paid",
                debtor_id=promise.debtor_id,
                campaign_id=promise.campaign_id,
                attempt_id=promise.attempt_id,
                reason=f"paid {promise.paid_amount} of {promise.amount} {promise.currency}",
                at=now,
            )
    s.flush()
    return report


def keep(s: Session, promise: m.PromiseToPay, *, paid_on: date, actor: str, now: datetime) -> None:
    """Mark kept; the reminder and check calls and texts for it stop being due."""
    promise.status = "kept"
    promise.kept_at = datetime.combine(paid_on, datetime.min.time(), tzinfo=UTC)
    append_audit(
        s,
        actor=actor,
        action="promise_kept",
        debtor_id=promise.debtor_id,
        campaign_id=promise.campaign_id,
        attempt_id=promise.attempt_id,
        reason=f"paid {promise.paid_amount} {promise.currency}",
        at=now,
    )
    enqueue_event(
        s,
        event_type="promise.kept",
        idempotency_key=f"promise_kept:{promise.id}",
        payload={
            "promise_id": promise.id,
            "debtor_id": promise.debtor_id,
            "campaign_id": promise.campaign_id,
            "paid_amount": str(promise.paid_amount),
            "currency": promise.currency,
            "paid_at": promise.kept_at.isoformat(),
        },
    )
    drop_follow_ups(s, promise, ("reminder", "check"))


def drop_follow_ups(s: Session, promise: m.PromiseToPay, kinds: tuple[str, ...]) -> None:
    """Queued calls of ``kinds`` for the promise's debtor and campaign, and its pending texts."""
    s.execute(
        update(m.CallAttempt)
        .where(
            m.CallAttempt.debtor_id == promise.debtor_id,
            m.CallAttempt.campaign_id == promise.campaign_id,
            m.CallAttempt.status == "queued",
            m.CallAttempt.kind.in_(kinds),
        )
        .values(status="canceled")
        .execution_options(synchronize_session=False)
    )
    s.execute(
        update(m.Message)
        .where(m.Message.promise_id == promise.id, m.Message.status == "pending")
        .values(status="canceled")
        .execution_options(synchronize_session=False)
    )


def break_overdue(
    s: Session, *, now: datetime, actor: str, grace_days: int = GRACE_DAYS
) -> list[int]:
    """Promises still pending ``grace_days`` after their date (in the debtor's zone): broken."""
    candidates = s.scalars(
        select(m.PromiseToPay).where(
            m.PromiseToPay.status == "pending",
            m.PromiseToPay.due_date < (now + timedelta(days=1)).date() - timedelta(days=grace_days),
        )
    )
    broken: list[int] = []
    for promise in candidates:
        debtor = s.get_one(m.Debtor, promise.debtor_id)
        today = now.astimezone(ZoneInfo(debtor.timezone) if debtor.timezone else UTC).date()
        if today <= promise.due_date + timedelta(days=grace_days):
            continue
        promise.status, promise.broken_at = "broken", now
        broken.append(promise.id)
        append_audit(
            s,
            actor=actor,
            action="promise_broken",
            debtor_id=promise.debtor_id,
            campaign_id=promise.campaign_id,
            attempt_id=promise.attempt_id,
            reason=f"not paid {grace_days} day(s) after {promise.due_date}: "
            f"{promise.paid_amount or 0} of {promise.amount} {promise.currency}",
            at=now,
        )
        enqueue_event(
            s,
            event_type="promise.broken",
            idempotency_key=f"promise_broken:{promise.id}",
            payload={
                "promise_id": promise.id,
                "debtor_id": promise.debtor_id,
                "campaign_id": promise.campaign_id,
                "paid_amount": str(promise.paid_amount or 0),
                "currency": promise.currency,
                "due_date": promise.due_date.isoformat(),
            },
        )
        drop_follow_ups(s, promise, ("reminder",))
        step = _next_step(s, promise, debtor)
        if step.texts:
            queue_broken_notice(
                s,
                promise,
                now=now,
                send_within=timedelta(hours=step.call_after_hours),
                actor=actor,
            )
        _requeue(s, promise, now, step)
    s.flush()
    return broken


def _next_step(s: Session, promise: m.PromiseToPay, debtor: m.Debtor) -> BrokenPromiseStep:
    """The campaign's step for the debtor's segment; a policy that no longer reads: a call."""
    campaign = s.get_one(m.Campaign, promise.campaign_id)
    try:
        return read_policy(campaign.messaging).after_broken_step(debtor.segment)
    except PolicyError:
        return DEFAULT_STEP


def _requeue(s: Session, promise: m.PromiseToPay, now: datetime, step: BrokenPromiseStep) -> None:
    """Back in the hopper as the segment's strategy says: when, and at what priority."""
    queued = s.scalar(
        select(m.CallAttempt.id).where(
            m.CallAttempt.debtor_id == promise.debtor_id,
            m.CallAttempt.campaign_id == promise.campaign_id,
            m.CallAttempt.status == "queued",
        )
    )
    if queued is not None:
        return  # the check call already queued is the call that follows the broken promise
    source = s.get_one(m.CallAttempt, promise.attempt_id)
    last = s.scalar(
        select(m.CallAttempt.number)
        .where(m.CallAttempt.debtor_id == promise.debtor_id)
        .order_by(m.CallAttempt.number.desc())
        .limit(1)
    )
    s.add(
        m.CallAttempt(
            campaign_id=promise.campaign_id,
            debtor_id=promise.debtor_id,
            phone_id=source.phone_id,
            kind="broken_promise",
            due_at=now + timedelta(hours=step.call_after_hours),
            priority=source.priority + 1 if step.priority is None else step.priority,
            number=(last or 0) + 1,
        )
    )
