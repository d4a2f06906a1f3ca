"""An agent's result after a warm transfer: validated like the API validates a promise.

The checks are pure (``validate``) so the console form and any future API route refuse
the same input with the same reasons; ``record`` writes the result, the promise the
debtor made to the agent and the audit row in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from voicebot.campaigns.kpis import PROMISES
from voicebot.domain.outcome import Disposition
from voicebot.storage import models as m
from voicebot.storage.repositories import append_audit, record_opt_out

# What a human can conclude on the phone; dialler results (NA, BUSY, VM…) are not theirs.
AGENT_DISPOSITIONS = (
    Disposition.PTP,
    Disposition.PPTP,
    Disposition.RPC,
    Disposition.PAID,
    Disposition.RTP,
    Disposition.DISP,
    Disposition.CB,
    Disposition.DNC,
    Disposition.TPC,
    Disposition.WPC,
)
MAX_NOTES = 2000
MAX_AMOUNT = Decimal("99999999999999.99")  # 14 digits and 2 decimals, as the API's money


class ResultError(ValueError):
    """Input the result form must refuse; ``field`` names the form field to mark."""

    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code


@dataclass(frozen=True, slots=True)
class AgentResultIn:
    disposition: Disposition
    amount: Decimal | None
    due_date: date | None
    notes: str
    callback_at: datetime | None = None  # CB only: when the agent calls back


def validate(
    disposition: str,
    amount: str,
    due_date: str,
    notes: str,
    *,
    today: date,
    max_days_ahead: int,
    callback_at: str = "",
    now: datetime | None = None,
) -> AgentResultIn:
    """Raise ResultError for the first bad field; a promise needs an amount and a date, a
    callback a moment ahead (``callback_at`` ISO 8601 with an offset; ``now`` aware)."""
    try:
        code = Disposition(disposition)
    except ValueError:
        raise ResultError("disposition", "unknown") from None
    if code not in AGENT_DISPOSITIONS:
        raise ResultError("disposition", "not_for_agents")
    if len(notes) > MAX_NOTES or "\x00" in notes:
        raise ResultError("notes", "too_long")
    if code == Disposition.CB:
        return AgentResultIn(
            code, None, None, notes.strip(), _callback(callback_at, now, max_days_ahead)
        )
    if code not in PROMISES:
        return AgentResultIn(code, None, None, notes.strip())
    try:
        money = Decimal(amount.strip().replace(",", ""))
    except InvalidOperation:
        raise ResultError("amount", "not_a_number") from None
    if not money.is_finite() or money <= 0 or money > MAX_AMOUNT:
        raise ResultError("amount", "out_of_range")
    if money != money.quantize(Decimal("0.01")):
        raise ResultError("amount", "too_many_decimals")
    try:
        when = date.fromisoformat(due_date.strip())
    except ValueError:
        raise ResultError("due_date", "not_a_date") from None
    if when < today or when > today + timedelta(days=max_days_ahead):
        raise ResultError("due_date", "out_of_range")
    return AgentResultIn(code, money, when, notes.strip())


def _callback(text: str, now: datetime | None, max_days_ahead: int) -> datetime:
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ResultError("callback_at", "not_a_moment") from None
    if when.tzinfo is None or now is None:
        raise ResultError("callback_at", "not_a_moment")
    if when <= now or when > now + timedelta(days=max(max_days_ahead, 1)):
        raise ResultError("callback_at", "out_of_range")
    return when


def record(
    s: Session, *, transfer: m.TransferRequest, result: AgentResultIn, actor: str, at: datetime
) -> m.AgentResult:
    """Store the result of a transfer this agent took (once: a second result is refused)."""
    if transfer.status != "accepted" or transfer.agent is None:
        raise ResultError("transfer", "not_taken")
    if s.scalar(select(m.AgentResult.id).where(m.AgentResult.transfer_id == transfer.id)):
        raise ResultError("transfer", "already_recorded")
    attempt = s.get_one(m.CallAttempt, transfer.attempt_id)
    promise_id = None
    if result.amount is not None and result.due_date is not None:
        debtor = s.get_one(m.Debtor, transfer.debtor_id)
        currency = next((d.currency for d in debtor.debts if d.status != "paid"), "")
        promise = m.PromiseToPay(
            debtor_id=transfer.debtor_id,
            campaign_id=attempt.campaign_id,
            attempt_id=attempt.id,
            amount=result.amount,
            currency=currency or (debtor.debts[0].currency if debtor.debts else "USD"),
            due_date=result.due_date,
            partial=result.disposition == Disposition.PPTP,
            created_at=at,
        )
        s.add(promise)
        s.flush()
        promise_id = promise.id
    if result.disposition == Disposition.DNC:
        record_opt_out(
            s,
            debtor_id=transfer.debtor_id,
            source="agent",
            actor=actor,
            reason="asked the agent",
            attempt_id=attempt.id,
            at=at,
        )
    row = m.AgentResult(
        transfer_id=transfer.id,
        agent=transfer.agent,
        disposition=result.disposition.value,
        promise_id=promise_id,
        notes=result.notes,
        callback_at=result.callback_at,
        recorded_at=at,
    )
    s.add(row)
    append_audit(
        s,
        actor=actor,
        action="agent_result",
        debtor_id=transfer.debtor_id,
        campaign_id=attempt.campaign_id,
        attempt_id=attempt.id,
        reason=result.disposition.value,
        at=at,
    )
    s.flush()
    return row


def callbacks_due(s: Session, *, agent: str, start: datetime, end: datetime) -> list[m.AgentResult]:
    """The callbacks an agent promised between ``start`` and ``end`` (its day), soonest first."""
    return list(
        s.scalars(
            select(m.AgentResult)
            .where(
                m.AgentResult.agent == agent,
                m.AgentResult.callback_at >= start,
                m.AgentResult.callback_at < end,
            )
            .order_by(m.AgentResult.callback_at)
        )
    )
