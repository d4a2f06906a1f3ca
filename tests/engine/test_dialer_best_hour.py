"""The hopper learns at which local hour each segment answers and dials that segment first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from voicebot.engine.best_hour import AnswerSample, HourBoosts, hour_boosts
from voicebot.engine.hopper import claim_attempts
from voicebot.storage import models as m

BOGOTA = ZoneInfo("America/Bogota")
MONDAY = datetime(2026, 11, 23, tzinfo=BOGOTA)


def history(segment: str, good_hour: int, bad_hour: int, n: int = 25) -> list[AnswerSample]:
    """``n`` dials at each hour: most answered at the good one, few at the bad one."""
    samples = []
    for i in range(n):
        day = MONDAY - timedelta(days=i % 5)
        samples.append(
            AnswerSample(segment, "America/Bogota", day.replace(hour=good_hour), i % 5 != 0)
        )
        samples.append(
            AnswerSample(segment, "America/Bogota", day.replace(hour=bad_hour), i % 5 == 0)
        )
    return samples


def test_a_segment_gets_a_boost_at_its_good_hour_and_a_penalty_at_its_bad_one() -> None:
    samples = history("workers", good_hour=19, bad_hour=10)
    evening = hour_boosts(samples, datetime(2026, 11, 24, 19, 5, tzinfo=BOGOTA))
    morning = hour_boosts(samples, datetime(2026, 11, 24, 10, 5, tzinfo=BOGOTA))
    # 80% answer at 19h, 20% at 10h, 50% overall: ±30 points.
    assert evening == {("workers", "America/Bogota"): 30}
    assert morning == {("workers", "America/Bogota"): -30}
    assert hour_boosts(samples, datetime(2026, 11, 24, 13, 0, tzinfo=BOGOTA)) == {}


def test_the_hour_is_the_debtors_local_hour_not_utc() -> None:
    samples = history("workers", good_hour=19, bad_hour=10)
    at_19_in_bogota = datetime(2026, 11, 25, 0, 5, tzinfo=UTC)  # 19:05 in Bogotá (UTC−5)
    assert hour_boosts(samples, at_19_in_bogota) == {("workers", "America/Bogota"): 30}


def test_too_little_history_gives_no_boost() -> None:
    samples = history("workers", good_hour=19, bad_hour=10, n=5)
    assert hour_boosts(samples, datetime(2026, 11, 24, 19, 0, tzinfo=BOGOTA)) == {}


def _debtor(s: Session, campaign_id: int, key: str, segment: str) -> int:
    debtor = m.Debtor(
        external_id=key, full_name=f"Deudor {key}", timezone="America/Bogota", segment=segment
    )
    s.add(debtor)
    s.flush()
    return debtor.id


def test_the_claim_takes_the_segment_that_answers_at_this_hour_first(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        campaign = m.Campaign(
            name="horas",
            dialplan="cobranza_es",
            jurisdiction="CO",
            default_region="CO",
            status="running",
        )
        s.add(campaign)
        s.flush()
        campaign_id = campaign.id
        queued: dict[str, list[int]] = {"retirees": [], "workers": []}
        # Retirees answer mornings, workers evenings; history spread over 25 debtors each.
        for segment, good, bad in (("retirees", 10, 18), ("workers", 18, 10)):
            for i, sample in enumerate(history(segment, good_hour=good, bad_hour=bad)):
                debtor_id = _debtor(s, campaign_id, f"{segment}-{i}", segment)
                s.add(
                    m.CallAttempt(
                        campaign_id=campaign_id,
                        debtor_id=debtor_id,
                        status="done",
                        started_at=sample.started_at,
                        disposition="RPC" if sample.answered else "NA",
                        due_at=sample.started_at,
                    )
                )
                if i < 3:  # three of each segment wait in the hopper, equal static priority
                    s.add(
                        m.CallAttempt(
                            campaign_id=campaign_id,
                            debtor_id=debtor_id,
                            priority=300,
                            due_at=MONDAY,
                        )
                    )
                    s.flush()
                    queued[segment].append(debtor_id)

    def first_three(local_hour: int) -> set[int]:
        now = datetime(2026, 11, 24, local_hour, 0, tzinfo=BOGOTA)
        with sessions() as s:
            boosts = HourBoosts().for_campaign(s, campaign_id, now)
        claimed = claim_attempts(
            sessions,
            campaign_id=campaign_id,
            worker_id="w",
            now=now,
            lease=timedelta(minutes=2),
            limit=3,
            boosts=boosts,
        )
        with sessions.begin() as s:
            debtors = {s.get_one(m.CallAttempt, a).debtor_id for a in claimed}
            for attempt_id in claimed:  # put them back for the next question
                attempt = s.get_one(m.CallAttempt, attempt_id)
                attempt.status, attempt.claimed_by, attempt.lease_expires_at = "queued", None, None
        return debtors

    assert first_three(10) == set(queued["retirees"])
    assert first_three(18) == set(queued["workers"])
