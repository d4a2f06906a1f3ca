"""Warm transfers and the agent desk: queued by the dialer, taken by agents through the API.

One module owns the transfer's life (waiting → accepted | failed) so the worker that
queues and settles it and the API that hands it to an agent cannot disagree on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from voicebot.actions import Transfer
from voicebot.storage import models as m
from voicebot.storage.repositories import append_audit


def queue_transfer(
    s: Session, *, attempt_id: int, transfer: Transfer, actor: str, at: datetime
) -> m.TransferRequest:
    """A transfer the dialog just asked for, with what the agent sees first."""
    attempt = s.get_one(m.CallAttempt, attempt_id)
    context = transfer.context
    row = m.TransferRequest(
        attempt_id=attempt_id,
        debtor_id=attempt.debtor_id,
        reason=transfer.reason,
        context={
            "summary": context.summary,
            "debtor_name": context.debtor_name,
            "promise_attempts": list(context.promise_attempts),
            "turns": [turn.to_json() for turn in context.turns],
            "verified": context.verified,
        },
        created_at=at,
    )
    s.add(row)
    append_audit(
        s,
        actor=actor,
        action="transfer_requested",
        debtor_id=attempt.debtor_id,
        campaign_id=attempt.campaign_id,
        attempt_id=attempt_id,
        reason=transfer.reason,
        at=at,
    )
    return row


def settle_transfers(s: Session, *, attempt_id: int, taken: bool) -> None:
    """A transfer still waiting when its call ended was taken (XFER) or failed (no agent)."""
    s.execute(
        update(m.TransferRequest)
        .where(m.TransferRequest.attempt_id == attempt_id, m.TransferRequest.status == "waiting")
        .values(status="accepted" if taken else "failed")
    )


def accept_transfer(
    s: Session, *, transfer_id: int, agent_name: str | None, actor: str, at: datetime
) -> tuple[m.TransferRequest | None, bool]:
    """Take a waiting transfer: one agent wins a race; returns the row and whether we won."""
    taken = s.execute(
        update(m.TransferRequest)
        .where(m.TransferRequest.id == transfer_id, m.TransferRequest.status == "waiting")
        .values(status="accepted", agent=agent_name, accepted_at=at)
    )
    transfer = s.get(m.TransferRequest, transfer_id, populate_existing=True)
    won = bool(taken.rowcount)  # type: ignore[attr-defined]
    if transfer is None or not won:
        return transfer, False
    append_audit(
        s,
        actor=actor,
        action="transfer_accepted",
        debtor_id=transfer.debtor_id,
        attempt_id=transfer.attempt_id,
        reason=transfer.reason,
    )
    s.execute(update(m.Agent).where(m.Agent.name == agent_name).values(status="busy"))
    return transfer, True


def transfer_queue(
    status: str | None, *, agent_view: bool = False, agent_name: str | None = None
) -> Select[Any]:
    """Oldest first; an agent's view shows the waiting queue and only its own others."""
    query = select(m.TransferRequest).order_by(m.TransferRequest.created_at, m.TransferRequest.id)
    if status is not None:
        query = query.where(m.TransferRequest.status == status)
    if agent_view and status != "waiting":
        query = query.where(m.TransferRequest.agent == agent_name)
    return query


@dataclass(frozen=True, slots=True)
class QueueStanding:
    """Where a transfer stands for the agents: its place in the waiting line and its wait."""

    position: int | None  # 1 = the next one an agent takes; None: no longer waiting
    wait_seconds: float | None  # waiting: so far; accepted: until taken; failed: unknown


def queue_standings(
    s: Session, transfers: Sequence[m.TransferRequest], *, now: datetime
) -> dict[int, QueueStanding]:
    """The standing of each of ``transfers`` in the one queue every agent takes from.

    The position counts every waiting transfer, outbound and inbound alike, oldest first
    (the order ``transfer_queue`` lists and agents take), whatever page is being shown.
    """
    waiting = [t for t in transfers if t.status == "waiting"]
    positions: dict[int, int] = {}
    if waiting:
        ranked = (
            select(
                m.TransferRequest.id,
                func.row_number()
                .over(order_by=(m.TransferRequest.created_at, m.TransferRequest.id))
                .label("position"),
            )
            .where(m.TransferRequest.status == "waiting")
            .subquery()
        )
        wanted = [t.id for t in waiting]
        positions = {
            int(transfer_id): int(position)
            for transfer_id, position in s.execute(
                select(ranked.c.id, ranked.c.position).where(ranked.c.id.in_(wanted))
            )
        }
    return {t.id: QueueStanding(positions.get(t.id), _wait(t, now)) for t in transfers}


def _wait(transfer: m.TransferRequest, now: datetime) -> float | None:
    if transfer.status == "waiting":
        return max(0.0, (now - transfer.created_at).total_seconds())
    if transfer.accepted_at is not None:
        return max(0.0, (transfer.accepted_at - transfer.created_at).total_seconds())
    return None


def find_transfer(s: Session, transfer_id: int) -> m.TransferRequest | None:
    return s.get(m.TransferRequest, transfer_id)


@dataclass(frozen=True, slots=True)
class ScreenPop:
    """What an agent sees when taking a transfer: the debtor, open debts, the transcript."""

    debtor: m.Debtor
    open_debts: list[m.Debt]
    turns: list[dict[str, Any]]
    context: dict[str, Any]


def screen_pop(s: Session, transfer: m.TransferRequest) -> ScreenPop:
    debtor = s.get_one(m.Debtor, transfer.debtor_id)
    stored = transfer.context or {}
    turns = stored.get("turns")
    if not isinstance(turns, list):
        record = s.scalar(
            select(m.CallRecord).where(m.CallRecord.attempt_id == transfer.attempt_id)
        )
        turns = record.transcript if record is not None else []
    return ScreenPop(
        debtor=debtor,
        open_debts=[d for d in debtor.debts if d.status != "paid"],
        turns=[t for t in turns if isinstance(t, dict)],
        context=stored,
    )


# ---------------------------------------------------------------- agents


def name_in_use(s: Session, name: str) -> str | None:
    """``"agent"`` or ``"API key"`` when the name is taken (agents sign in with their key)."""
    if s.scalar(select(m.Agent.id).where(m.Agent.name == name)) is not None:
        return "agent"
    if s.scalar(select(m.ApiKey.id).where(m.ApiKey.name == name)) is not None:
        return "API key"
    return None


def agents(status: str | None) -> Select[Any]:
    query = select(m.Agent).order_by(m.Agent.id)
    if status is not None:
        query = query.where(m.Agent.status == status)
    return query


def agent_named(s: Session, name: str | None) -> m.Agent | None:
    return s.scalar(select(m.Agent).where(m.Agent.name == name))


def find_agent(s: Session, agent_id: int) -> m.Agent | None:
    return s.get(m.Agent, agent_id)


def set_agent_status(s: Session, agent: m.Agent, status: str, *, actor: str, at: datetime) -> None:
    agent.status = status
    agent.updated_at = at
    append_audit(s, actor=actor, action="agent_status", reason=f"{agent.name}: {status}")
