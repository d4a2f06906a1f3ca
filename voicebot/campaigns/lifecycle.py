"""Launch, pause, resume, stop: a campaign's state and the attempts it puts in the hopper.

Pausing only stops new claims (live calls finish); stopping also cancels what is
queued. Every change is written to the audit log.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from voicebot.storage import models as m
from voicebot.storage.repositories import append_audit

TRANSITIONS = {
    "launch": ({"draft", "stopped", "running"}, "running"),
    "pause": ({"running"}, "paused"),
    "resume": ({"paused"}, "running"),
    "stop": ({"draft", "running", "paused"}, "stopped"),
}


class CampaignStateError(ValueError):
    """The requested change does not apply to the campaign's current state."""


def attempt_priority(*, days_past_due: int, balance: Decimal) -> int:
    """Higher first: mid-mora buckets (negotiation pays most), then larger balances."""
    bucket = (
        30
        if days_past_due <= 30
        else 50
        if days_past_due <= 90
        else 40
        if days_past_due <= 180
        else 20
    )
    size = min(9, int(balance).bit_length() // 3)
    return bucket * 10 + size


def _change(
    session: Session, campaign_id: int, action: str, actor: str, now: datetime
) -> m.Campaign:
    campaign = session.get(m.Campaign, campaign_id, with_for_update=True)
    if campaign is None:
        raise CampaignStateError(f"campaign {campaign_id} does not exist")
    allowed, target = TRANSITIONS[action]
    if campaign.status not in allowed:
        raise CampaignStateError(f"cannot {action} a campaign that is {campaign.status}")
    before = campaign.status
    campaign.status = target
    campaign.updated_at = now
    append_audit(
        session,
        actor=actor,
        action=f"campaign_{action}",
        campaign_id=campaign_id,
        reason=f"{before} → {target}",
        at=now,
    )
    return campaign


def launch_campaign(session: Session, *, campaign_id: int, now: datetime, actor: str) -> int:
    """Start (or top up) a campaign: queue a first attempt for every member not yet queued."""
    _change(session, campaign_id, "launch", actor, now)
    return queue_first_attempts(session, campaign_id=campaign_id, now=now)


def pause_campaign(session: Session, *, campaign_id: int, now: datetime, actor: str) -> None:
    _change(session, campaign_id, "pause", actor, now)


def resume_campaign(session: Session, *, campaign_id: int, now: datetime, actor: str) -> None:
    _change(session, campaign_id, "resume", actor, now)


def stop_campaign(session: Session, *, campaign_id: int, now: datetime, actor: str) -> int:
    """Stop and cancel every queued attempt; live calls end on their own."""
    _change(session, campaign_id, "stop", actor, now)
    result = session.execute(
        update(m.CallAttempt)
        .where(m.CallAttempt.campaign_id == campaign_id, m.CallAttempt.status == "queued")
        .values(status="cancelled", error="campaign stopped")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def queue_first_attempts(session: Session, *, campaign_id: int, now: datetime) -> int:
    """One queued attempt per member that has a valid phone and has never been attempted."""
    attempted = select(m.CallAttempt.debtor_id).where(m.CallAttempt.campaign_id == campaign_id)
    members = session.execute(
        select(m.CampaignDebtor.debtor_id, m.CampaignDebtor.priority)
        .where(m.CampaignDebtor.campaign_id == campaign_id)
        .where(m.CampaignDebtor.debtor_id.not_in(attempted))
    ).all()
    if not members:
        return 0
    # Joins on the membership, not IN (ids): a 100k-debtor campaign exceeds PostgreSQL's
    # 65,535 bind parameters.
    member = (m.CampaignDebtor.debtor_id == m.Phone.debtor_id) & (
        m.CampaignDebtor.campaign_id == campaign_id
    )
    phones: dict[int, int] = {}
    for debtor_id, phone_id in session.execute(
        select(m.Phone.debtor_id, m.Phone.id)
        .join(m.CampaignDebtor, member)
        .where(m.Phone.status == "valid")
        .order_by(m.Phone.debtor_id, m.Phone.priority.desc())
    ):
        phones[debtor_id] = phone_id  # ordered so the lowest priority number wins last
    owes = (m.CampaignDebtor.debtor_id == m.Debt.debtor_id) & (
        m.CampaignDebtor.campaign_id == campaign_id
    )
    debts = {
        debtor_id: (int(dpd or 0), Decimal(total or 0))
        for debtor_id, dpd, total in session.execute(
            select(m.Debt.debtor_id, func.max(m.Debt.days_past_due), func.sum(m.Debt.amount))
            .join(m.CampaignDebtor, owes)
            .where(m.Debt.status == "active")
            .group_by(m.Debt.debtor_id)
        )
    }
    rows = []
    for debtor_id, member_priority in members:
        if debtor_id not in phones or debtor_id not in debts:
            continue
        dpd, balance = debts[debtor_id]
        rows.append(
            m.CallAttempt(
                campaign_id=campaign_id,
                debtor_id=debtor_id,
                phone_id=phones[debtor_id],
                kind="first",
                due_at=now,
                priority=member_priority + attempt_priority(days_past_due=dpd, balance=balance),
            )
        )
    session.add_all(rows)
    return len(rows)
