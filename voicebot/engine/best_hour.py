"""Best-hour ordering: when history shows a segment answers better at this hour, dial it first.

A debtor segment that works days answers at lunch or after 18:00; calling it at
10:00 burns attempts (and frequency caps) on no-answers. From the campaign's own
finished attempts we learn, per (segment, time zone), the answer rate at each local
hour; at claim time each group gets a priority boost equal to how much better (or
worse) its current hour answers than its average. Static priority (days past due,
balance) still dominates when there is not enough history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from voicebot.storage import models as m

NO_ANSWER = ("NA", "BUSY", "FAIL", "VM")
Group = tuple[str, str]  # (segment, time zone)


@dataclass(frozen=True, slots=True)
class AnswerSample:
    segment: str
    timezone: str
    started_at: datetime  # aware
    answered: bool


def hour_boosts(
    samples: Iterable[AnswerSample],
    now: datetime,
    *,
    min_samples: int = 20,
    weight: int = 100,
) -> dict[Group, int]:
    """Priority boost per (segment, zone) for dials made at ``now``.

    ``weight`` × (answer rate at the group's current local hour − the group's overall
    rate); a group gets no boost unless both rates rest on ``min_samples`` dials.
    """
    total: dict[Group, list[int]] = defaultdict(lambda: [0, 0])
    at_hour: dict[Group, list[int]] = defaultdict(lambda: [0, 0])
    local_hour: dict[str, int] = {}
    for sample in samples:
        group = (sample.segment, sample.timezone)
        zone = ZoneInfo(sample.timezone)
        if sample.timezone not in local_hour:
            local_hour[sample.timezone] = now.astimezone(zone).hour
        counts = total[group]
        counts[0] += 1
        counts[1] += sample.answered
        if sample.started_at.astimezone(zone).hour == local_hour[sample.timezone]:
            hour_counts = at_hour[group]
            hour_counts[0] += 1
            hour_counts[1] += sample.answered
    boosts: dict[Group, int] = {}
    for group, (dials, answered) in total.items():
        hour_dials, hour_answered = at_hour.get(group, [0, 0])
        if dials < min_samples or hour_dials < min_samples:
            continue
        boost = round(weight * (hour_answered / hour_dials - answered / dials))
        if boost:
            boosts[group] = boost
    return boosts


def answer_samples(
    s: Session, *, campaign_id: int, now: datetime, days: int = 30
) -> list[AnswerSample]:
    """The campaign's finished dials of the last ``days`` days, with the debtor's segment."""
    rows = s.execute(
        select(
            m.Debtor.segment,
            m.Debtor.timezone,
            m.CallAttempt.started_at,
            m.CallAttempt.disposition,
        )
        .join(m.Debtor, m.Debtor.id == m.CallAttempt.debtor_id)
        .where(
            m.CallAttempt.campaign_id == campaign_id,
            m.CallAttempt.status == "done",
            m.CallAttempt.started_at >= now - timedelta(days=days),
            m.Debtor.timezone.is_not(None),
        )
    )
    return [
        AnswerSample(segment or "", zone, started, disposition not in NO_ANSWER)
        for segment, zone, started, disposition in rows
        if started is not None and zone
    ]


class HourBoosts:
    """Boosts recomputed from history at most every ``refresh`` of dialer clock time."""

    def __init__(self, refresh: timedelta = timedelta(minutes=15), min_samples: int = 20) -> None:
        self.refresh = refresh
        self.min_samples = min_samples
        self._cache: dict[int, tuple[datetime, dict[Group, int]]] = {}

    def for_campaign(self, s: Session, campaign_id: int, now: datetime) -> Mapping[Group, int]:
        cached = self._cache.get(campaign_id)
        same_hour = (
            cached is not None and cached[0].astimezone(UTC).hour == now.astimezone(UTC).hour
        )
        if cached is None or not same_hour or not (cached[0] <= now < cached[0] + self.refresh):
            samples = answer_samples(s, campaign_id=campaign_id, now=now)
            boosts = hour_boosts(samples, now, min_samples=self.min_samples)
            cached = (now, boosts)
            self._cache[campaign_id] = cached
        return cached[1]
