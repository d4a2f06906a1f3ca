"""What a campaign's live dashboard shows, computed once per tick for every open dashboard.

The KPIs are ``campaign_status``'s (the numbers of ``voicebot campaign status``), assembled
by its own ``assemble`` from the same queries; the attempts' part is kept incrementally and
the other parts are recomputed only when they changed (``live_tally``). On top: calls in
progress, transfers waiting, the campaign's latest day of calls by UTC hour (the demo dials on a future working day, so
"today" is the day the calls happened) and the funnel.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.console.live_tally import LiveTally
from voicebot.campaigns.status import (
    assemble,
    follow_up_kpis,
    follow_ups_by_segment,
    inbound_kpis,
    members_by_segment,
    promised_by_segment,
)
from voicebot.storage import models as m

IN_PROGRESS = ("claimed", "dialing")


def _follow_ups(
    session: Session, campaign_id: int
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    return follow_up_kpis(session, campaign_id), follow_ups_by_segment(session, campaign_id)


def dashboard_snapshot(session: Session, campaign_id: int, tracker: LiveTally) -> dict[str, Any]:
    """``campaign_status`` assembled from the same parts, the finished attempts' share kept
    up to date incrementally by ``tracker``; plus the live counters and the day by hour."""
    done = tracker.update(session, campaign_id)
    by_status = done.by_status
    follow_ups, follow_ups_segments = tracker.follow_ups(session, campaign_id, done, _follow_ups)
    status = assemble(
        session.get_one(m.Campaign, campaign_id),
        members=tracker.members(session, campaign_id, done, members_by_segment),
        by_status=by_status,
        refusals=done.refusals,
        attempted=done.attempted,
        tallies=done.tallies,
        promised=tracker.promised(session, campaign_id, done, promised_by_segment),
        inbound=tracker.inbound(session, campaign_id, done, inbound_kpis),
        follow_ups=follow_ups,
        follow_ups_by_segment=follow_ups_segments,
    )
    # From the few waiting transfers to their attempts (not the campaign's attempts to
    # their transfers): the cost follows the queue, not the campaign.
    queue = list(
        session.scalars(
            select(m.TransferRequest.attempt_id).where(m.TransferRequest.status == "waiting")
        )
    )
    waiting = (
        session.scalar(
            select(func.count()).where(
                m.CallAttempt.id.in_(queue), m.CallAttempt.campaign_id == campaign_id
            )
        )
        if queue
        else 0
    )
    day = max((d for d, _ in done.hours), default=None)
    hours = [
        {"hour": hour, "attempts": counts[0], "contacts": counts[1], "promises": counts[2]}
        for (d, hour), counts in sorted(done.hours.items())
        if d == day
    ]
    kpis = status["kpis"]
    return {
        "campaign_id": campaign_id,
        "campaign_status": status,
        "in_progress": sum(by_status.get(s, 0) for s in IN_PROGRESS),
        "transfers_waiting": int(waiting or 0),
        "day": day.isoformat() if isinstance(day, date) else "",
        "attempts_day": sum(h["attempts"] for h in hours),
        "hours": hours,
        "funnel": [
            ("dialled", kpis["attempts"]),
            ("answered", kpis["contacts"]),
            ("right_party", kpis["right_party_contacts"]),
            ("promise", kpis["promises"]),
        ],
    }
