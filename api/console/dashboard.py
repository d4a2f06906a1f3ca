"""What a campaign's live dashboard shows, computed once per tick for every open dashboard.

The KPIs are ``campaign_status`` itself (the numbers of ``voicebot campaign status``);
this module only adds what a wall screen needs on top: calls in progress, transfers
waiting, the day by hour and the funnel. Hours are grouped in SQL, so the cost grows
with the hours of a day, not with its calls.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from voicebot.campaigns.kpis import CONTACT, PROMISES
from voicebot.campaigns.status import campaign_status
from voicebot.storage import models as m

IN_PROGRESS = ("claimed", "dialing")


def dashboard_snapshot(session: Session, campaign_id: int) -> dict[str, Any]:
    status = campaign_status(session, campaign_id=campaign_id)
    campaign = session.get_one(m.Campaign, campaign_id)
    in_progress = session.scalar(
        select(func.count()).where(
            m.CallAttempt.campaign_id == campaign_id, m.CallAttempt.status.in_(IN_PROGRESS)
        )
    )
    waiting = session.scalar(
        select(func.count())
        .select_from(m.TransferRequest)
        .join(m.CallAttempt, m.CallAttempt.id == m.TransferRequest.attempt_id)
        .where(m.CallAttempt.campaign_id == campaign_id, m.TransferRequest.status == "waiting")
    )
    day, hours = _day_by_hour(session, campaign_id)
    kpis = status["kpis"]
    return {
        "campaign_id": campaign_id,
        "campaign_status": status,
        "currency": campaign.limits.get("currency", "") if campaign.limits else "",
        "in_progress": int(in_progress or 0),
        "transfers_waiting": int(waiting or 0),
        "day": day,
        "attempts_day": sum(h["attempts"] for h in hours),
        "hours": hours,
        "funnel": [
            ("dialled", kpis["attempts"]),
            ("answered", kpis["contacts"]),
            ("right_party", kpis["right_party_contacts"]),
            ("promise", kpis["promises"]),
        ],
    }


def _day_by_hour(session: Session, campaign_id: int) -> tuple[str, list[dict[str, int]]]:
    """Attempts, contacts and promises per UTC hour of the campaign's latest day of calls
    (the demo dials on a future working day, so "today" is the day the calls happened)."""
    latest = session.scalar(
        select(func.max(m.CallAttempt.ended_at)).where(
            m.CallAttempt.campaign_id == campaign_id, m.CallAttempt.status == "done"
        )
    )
    if latest is None:
        return "", []
    if isinstance(latest, str):  # SQLite's max() hands back the stored text
        latest = datetime.fromisoformat(latest)
    start = latest.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=UTC)
    hour: Any
    if session.get_bind().dialect.name == "postgresql":
        hour = func.extract("hour", m.CallAttempt.ended_at)
    else:
        hour = func.strftime("%H", m.CallAttempt.ended_at)
    contact = [d.value for d in CONTACT]
    promise = [d.value for d in PROMISES]
    rows = session.execute(
        select(
            hour,
            func.count(),
            func.sum(case((m.CallAttempt.disposition.in_(contact), 1), else_=0)),
            func.sum(case((m.CallAttempt.disposition.in_(promise), 1), else_=0)),
        )
        .where(
            m.CallAttempt.campaign_id == campaign_id,
            m.CallAttempt.status == "done",
            m.CallAttempt.disposition.is_not(None),
            m.CallAttempt.ended_at >= start,
            m.CallAttempt.ended_at < start + timedelta(days=1),
        )
        .group_by(hour)
        .order_by(hour)
    ).all()
    hours = [
        {"hour": int(h), "attempts": int(n), "contacts": int(c or 0), "promises": int(p or 0)}
        for h, n, c, p in rows
    ]
    return start.date().isoformat(), hours
