"""The dialer over a real database (SQLite and PostgreSQL): compliance, caps, follow-ups, opt-outs."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dialer_world import phone_of, portfolio_csv, scripts
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from voicebot.campaigns.lifecycle import (
    CampaignStateError,
    launch_campaign,
    pause_campaign,
    resume_campaign,
    stop_campaign,
)
from voicebot.campaigns.portfolio import import_csv
from voicebot.data import DEFAULT_DIALPLAN
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.engine.dialer import CallResult, Dialer, DialRequest
from voicebot.engine.pacing import TokenBucket
from voicebot.engine.text_runner import ScriptedTextRunner
from voicebot.storage import models as m
from voicebot.storage.db import make_engine
from voicebot.storage.repositories import record_opt_out

BOGOTA = ZoneInfo("America/Bogota")
N = 21


class SimClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def make_campaign(sessions: sessionmaker[Session], n: int = N, cps: float = 5.0) -> int:
    with sessions.begin() as s:
        campaign = m.Campaign(
            name="semana",
            dialplan="cobranza_es",
            jurisdiction="CO",
            default_region="CO",
            limits={"min_payment": 100000, "max_days_ahead": 30},
            max_concurrent=5,
            calls_per_second=cps,
        )
        s.add(campaign)
        s.flush()
        campaign_id = campaign.id
    report = import_csv(sessions, portfolio_csv(n), default_region="CO", campaign_id=campaign_id)
    assert report.errors == []
    return campaign_id


def runner(clock: SimClock, n: int = N) -> ScriptedTextRunner:
    plan = load_dialplan(DEFAULT_DIALPLAN)
    return ScriptedTextRunner(plan, scripts(n), clock=clock)


def test_a_simulated_week_never_dials_outside_colombian_rules(
    sessions: sessionmaker[Session],
) -> None:
    campaign_id = make_campaign(sessions)
    # Sunday 6 December 2026, 05:00: Sunday is closed and Tuesday the 8th is a holiday.
    clock = SimClock(datetime(2026, 12, 6, 5, 0, tzinfo=BOGOTA))
    with sessions.begin() as s:
        opted = s.scalars(select(m.Debtor.id).where(m.Debtor.external_id == "D0007")).one()
        record_opt_out(s, debtor_id=opted, source="api", actor="test", reason="asked by email")
        assert launch_campaign(s, campaign_id=campaign_id, now=clock(), actor="manager") == N
    dialer = Dialer(sessions, runner(clock), worker_id="w1", clock=clock, max_concurrent=5)

    async def week() -> None:
        end = clock.now + timedelta(days=8)
        while clock.now < end:
            await dialer.tick(campaign_id=campaign_id)
            await dialer.drain()
            clock.now += timedelta(minutes=10)

    asyncio.run(week())
    with sessions() as s:
        dialed = s.execute(
            select(m.CallAttempt.debtor_id, m.CallAttempt.started_at, m.CallAttempt.disposition)
            .where(m.CallAttempt.started_at.is_not(None))
            .order_by(m.CallAttempt.started_at)
        ).all()
        assert len(dialed) > N  # first wave plus retries and callbacks
        contacts: Counter[tuple[int, object]] = Counter()
        for debtor_id, started, disposition in dialed:
            local = started.astimezone(BOGOTA)
            assert local.weekday() != 6 and local.date().isoformat() != "2026-12-08", local
            start, end = (8, 15) if local.weekday() == 5 else (7, 19)
            assert start <= local.hour < end, local
            if disposition not in ("NA", "BUSY", "FAIL", "VM", "DROP"):
                contacts[(debtor_id, local.date())] += 1
        assert max(contacts.values()) == 1
        assert opted not in {d for d, _, _ in dialed}
        first = min(started for _, started, _ in dialed).astimezone(BOGOTA)
        assert first == datetime(2026, 12, 7, 7, 0, tzinfo=BOGOTA)  # Monday, window opening
        # The debtor who opted out on the call is never dialed again.
        dnc = s.scalars(
            select(m.CallRecord.debtor_id).where(m.CallRecord.disposition == "DNC")
        ).all()
        assert dnc
        for debtor_id in dnc:
            assert (
                s.scalar(
                    select(func.count())
                    .select_from(m.CallAttempt)
                    .where(
                        m.CallAttempt.debtor_id == debtor_id, m.CallAttempt.started_at.is_not(None)
                    )
                )
                == 1
            )
        refusals = Counter(
            s.scalars(select(m.AuditEntry.rule).where(m.AuditEntry.action == "dial_refused"))
        )
        assert refusals["opt_out"] >= 1
        assert refusals["co_closed_day"] + refusals["co_hours"] + refusals["co_holiday"] >= 1
        # Follow-ups exist: retries for no-answer, callbacks, promise reminder and check.
        kinds = Counter(s.scalars(select(m.CallAttempt.kind)))
        assert kinds["retry"] and kinds["callback"] and kinds["check"]
        na_attempts = s.scalar(
            select(func.count())
            .select_from(m.CallAttempt)
            .where(
                m.CallAttempt.disposition == "NA",
                m.CallAttempt.debtor_id
                == s.scalars(select(m.Phone.debtor_id).where(m.Phone.e164 == phone_of(4))).one(),
            )
        )
        assert na_attempts == 4  # DEFAULT_RETRY: at most 4 attempts after no answer


def test_pause_stops_new_dials_and_stop_cancels_the_queue(sessions: sessionmaker[Session]) -> None:
    campaign_id = make_campaign(sessions, 6)
    clock = SimClock(datetime(2026, 11, 24, 10, 0, tzinfo=BOGOTA))
    with sessions.begin() as s:
        launch_campaign(s, campaign_id=campaign_id, now=clock(), actor="manager")
        pause_campaign(s, campaign_id=campaign_id, now=clock(), actor="manager")
    dialer = Dialer(sessions, runner(clock, 6), worker_id="w1", clock=clock)
    assert asyncio.run(dialer.tick(campaign_id=campaign_id)) == 0
    with sessions.begin() as s:
        with pytest.raises(CampaignStateError):
            pause_campaign(s, campaign_id=campaign_id, now=clock(), actor="manager")
        resume_campaign(s, campaign_id=campaign_id, now=clock(), actor="manager")
    assert asyncio.run(dialer.tick(campaign_id=campaign_id)) > 0
    with sessions.begin() as s:
        cancelled = stop_campaign(s, campaign_id=campaign_id, now=clock(), actor="manager")
    with sessions() as s:
        queued = s.scalar(
            select(func.count()).select_from(m.CallAttempt).where(m.CallAttempt.status == "queued")
        )
        assert queued == 0 and cancelled >= 0
        actions = s.scalars(
            select(m.AuditEntry.action).where(m.AuditEntry.action.like("campaign_%"))
        ).all()
        assert actions == ["campaign_launch", "campaign_pause", "campaign_resume", "campaign_stop"]


def test_pacing_respects_the_campaigns_concurrency(sessions: sessionmaker[Session]) -> None:
    campaign_id = make_campaign(sessions, 12)
    clock = SimClock(datetime(2026, 11, 24, 10, 0, tzinfo=BOGOTA))
    with sessions.begin() as s:
        launch_campaign(s, campaign_id=campaign_id, now=clock(), actor="manager")
    dialer = Dialer(sessions, runner(clock, 12), worker_id="w1", clock=clock, max_concurrent=50)

    async def one_tick() -> int:
        started = await dialer.tick(campaign_id=campaign_id)
        with sessions() as s:
            live = s.scalar(
                select(func.count())
                .select_from(m.CallAttempt)
                .where(m.CallAttempt.status.in_(m.LIVE_ATTEMPT_STATUSES))
            )
        await dialer.drain()
        assert live is not None and live <= 5
        return started

    assert asyncio.run(one_tick()) == 5  # the campaign's max_concurrent, not the worker's 50
    assert clock.now.astimezone(UTC).tzinfo is UTC


def test_calls_per_second_of_the_campaign_and_the_trunk_pace_the_dials(
    sessions: sessionmaker[Session],
) -> None:
    campaign_id = make_campaign(sessions, 12, cps=3.0)
    clock = SimClock(datetime(2026, 11, 24, 10, 0, tzinfo=BOGOTA))
    with sessions.begin() as s:
        launch_campaign(s, campaign_id=campaign_id, now=clock(), actor="manager")
    dialer = Dialer(sessions, runner(clock, 12), worker_id="w1", clock=clock, max_concurrent=50)

    async def tick_at(offset_s: float) -> int:
        clock.now = datetime(2026, 11, 24, 10, 0, tzinfo=BOGOTA) + timedelta(seconds=offset_s)
        started = await dialer.tick(campaign_id=campaign_id)
        await dialer.drain()
        return started

    assert asyncio.run(tick_at(0)) == 3  # a one-second burst at 3 cps
    assert asyncio.run(tick_at(0.2)) == 0
    assert asyncio.run(tick_at(0.34)) == 1  # one token back after a third of a second

    trunked = Dialer(
        sessions,
        runner(clock, 12),
        worker_id="w2",
        clock=clock,
        max_concurrent=50,
        trunk=TokenBucket(rate=1.0, burst=1),
    )

    async def trunk_tick() -> int:
        clock.now += timedelta(seconds=10)  # the campaign's bucket is full again
        started = await trunked.tick(campaign_id=campaign_id)
        await trunked.drain()
        return started

    assert asyncio.run(trunk_tick()) == 1  # the trunk's 1 cps wins over the campaign's 3


def test_the_database_itself_refuses_two_live_attempts_for_one_debtor(
    sessions: sessionmaker[Session],
) -> None:
    """Even a buggy or foreign worker that bypasses the claim query cannot double-dial."""
    campaign_id = make_campaign(sessions, 1)
    with sessions.begin() as s:
        debtor_id = s.scalars(select(m.Debtor.id)).one()
        for _ in range(2):
            s.add(
                m.CallAttempt(
                    campaign_id=campaign_id,
                    debtor_id=debtor_id,
                    due_at=datetime(2026, 11, 24, tzinfo=UTC),
                )
            )
    with sessions.begin() as s:
        first, second = s.scalars(
            select(m.CallAttempt).where(m.CallAttempt.debtor_id == debtor_id)
        ).all()
        first.status = "dialing"
    with pytest.raises(IntegrityError), sessions.begin() as s:
        s.get_one(m.CallAttempt, second.id).status = "claimed"
    with sessions() as s:
        statuses = sorted(
            s.scalars(select(m.CallAttempt.status).where(m.CallAttempt.debtor_id == debtor_id))
        )
        assert statuses == ["dialing", "queued"]  # the refused change lost nothing


def test_a_frozen_simulated_clock_is_not_paced_forever(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    """Simulations whose calls take no time cannot refill a bucket; the run still ends."""
    campaign_id = make_campaign(sessions, 4, cps=1.0)
    clock = SimClock(datetime(2026, 11, 24, 10, 0, tzinfo=BOGOTA))
    with sessions.begin() as s:
        launch_campaign(s, campaign_id=campaign_id, now=clock(), actor="manager")
    dialer = Dialer(sessions, runner(clock, 4), worker_id="w1", clock=clock)
    stats = asyncio.run(dialer.run(campaign_id=campaign_id, until_idle=True))
    assert stats.dialed == 4
    assert "clock frozen" in caplog.text


def test_the_campaigns_own_schedule_tightens_the_law_and_a_broken_one_loses_nothing(
    sessions: sessionmaker[Session],
) -> None:
    campaign_id = make_campaign(sessions, 3)
    clock = SimClock(datetime(2026, 11, 24, 8, 0, tzinfo=BOGOTA))  # Colombia allows 07:00-19:00
    with sessions.begin() as s:
        s.get_one(m.Campaign, campaign_id).schedule = {"hours": {"tue": ["09:00", "12:00"]}}
        launch_campaign(s, campaign_id=campaign_id, now=clock(), actor="manager")
    dialer = Dialer(sessions, runner(clock, 3), worker_id="w1", clock=clock)
    assert asyncio.run(dialer.tick(campaign_id=campaign_id)) == 0
    with sessions() as s:
        assert set(
            s.scalars(select(m.AuditEntry.rule).where(m.AuditEntry.action == "dial_refused"))
        ) == {"campaign_hours"}
        due = set(s.scalars(select(m.CallAttempt.due_at).where(m.CallAttempt.status == "queued")))
        assert {d.astimezone(BOGOTA) for d in due} == {datetime(2026, 11, 24, 9, 0, tzinfo=BOGOTA)}
    with sessions.begin() as s:
        s.get_one(m.Campaign, campaign_id).schedule = {"hours": {"martes": ["09:00", "12:00"]}}
    clock.now = datetime(2026, 11, 24, 9, 0, tzinfo=BOGOTA)
    assert asyncio.run(dialer.tick(campaign_id=campaign_id)) == 0
    with sessions() as s:
        reasons = s.scalars(
            select(m.AuditEntry.reason).where(m.AuditEntry.rule == "campaign_schedule_invalid")
        ).all()
        assert len(reasons) == 3 and "martes" in reasons[0]
        queued = s.scalar(
            select(func.count()).select_from(m.CallAttempt).where(m.CallAttempt.status == "queued")
        )
        assert queued == 3  # waiting for a fixed schedule, not cancelled
    with sessions.begin() as s:
        s.get_one(m.Campaign, campaign_id).schedule = {"hours": {"tue": ["09:00", "12:00"]}}
    clock.now = datetime(2026, 11, 24, 10, 0, tzinfo=BOGOTA)

    async def dial_and_finish() -> int:
        started = await dialer.tick(campaign_id=campaign_id)
        await dialer.drain()
        return started

    assert asyncio.run(dial_and_finish()) == 3


@pytest.mark.parametrize("reaped_meanwhile", [False, True], ids=["held", "reaped"])
def test_a_claim_interrupted_by_the_database_is_dialled_once_not_left_claimed(
    sessions: sessionmaker[Session], reaped_meanwhile: bool
) -> None:
    """The database fails between a claim and its dial record (the write-ahead ``dialing``).

    The worker still holds those claims: it must dial them when the database answers again,
    once each, instead of forgetting them (each would hold a concurrency slot and its debtor
    until the lease ran out, and a worker told to stop when idle would stop with them held).
    If a reaper returned them to the hopper meanwhile, the worker claims them again as any
    due work, instead of taking "none of my held claims could be dialled" for "nothing due".
    """
    campaign_id = make_campaign(sessions, 4)
    clock = SimClock(datetime(2026, 11, 24, 10, 0, tzinfo=BOGOTA))
    with sessions.begin() as s:
        launch_campaign(s, campaign_id=campaign_id, now=clock(), actor="manager")
    engine = sessions.kw["bind"]
    failures: list[str] = []

    def database_fails_once(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        # The dial record is the first write after a claim; the driver reports a lost server.
        dial_record = statement.startswith("UPDATE call_attempts SET status")
        if dial_record and "started_at" in statement and not failures:
            failures.append(statement)
            if reaped_meanwhile:  # as a reaper does with leases that ran out
                with reaper.begin() as connection:
                    connection.execute(
                        update(m.CallAttempt)
                        .where(m.CallAttempt.status == "claimed")
                        .values(status="queued", claimed_by=None, lease_expires_at=None)
                    )
            raise OperationalError(statement, None, Exception("server closed the connection"))

    reaper = make_engine(engine.url.render_as_string(hide_password=False))
    event.listen(engine, "before_cursor_execute", database_fails_once)
    dialer = Dialer(sessions, runner(clock, 4), worker_id="w1", clock=clock, max_concurrent=4)
    stats = asyncio.run(dialer.run(campaign_id=campaign_id, until_idle=True, poll_s=0.01))
    event.remove(engine, "before_cursor_execute", database_fails_once)
    reaper.dispose()

    assert failures  # the failure did happen, on a dial record
    assert dialer.health()["outages"] == 1
    with sessions() as s:
        dials = s.scalars(
            select(m.AuditEntry.attempt_id).where(m.AuditEntry.action == "dial_allowed")
        ).all()
        left = s.scalars(
            select(m.CallAttempt.id).where(m.CallAttempt.status.in_(m.LIVE_ATTEMPT_STATUSES))
        ).all()
        first = s.scalars(select(m.CallAttempt.id).where(m.CallAttempt.kind == "first")).all()
    assert left == []  # nothing still claimed (or dialing) when the worker went idle
    assert sorted(dials) == sorted(first)  # every claimed attempt dialled, each exactly once
    assert stats.dialed == 4


def test_a_worker_with_a_free_line_dials_work_that_falls_due_during_a_long_call(
    sessions: sessionmaker[Session],
) -> None:
    """A worker that has calls up and a free line keeps looking for due work.

    Waiting for one of its calls to end instead would leave the line idle for a whole call
    (minutes) whenever a claim found nothing at that moment: a callback falling due, a row
    another worker had locked, a campaign launched meanwhile.
    """
    campaign_id = make_campaign(sessions, 2)
    start = datetime(2026, 11, 24, 10, 0, tzinfo=BOGOTA)
    clock = SimClock(start)
    with sessions.begin() as s:
        launch_campaign(s, campaign_id=campaign_id, now=clock(), actor="manager")
        later = s.scalars(
            select(m.CallAttempt)
            .join(m.Phone, m.Phone.id == m.CallAttempt.phone_id)
            .where(m.Phone.e164 == phone_of(1))
        ).one()
        later.due_at = start + timedelta(seconds=5)
    second_dialled = asyncio.Event()
    overlapped: list[bool] = []

    class LongFirstCall(ScriptedTextRunner):
        async def run(self, request: DialRequest) -> CallResult:
            if request.phone == phone_of(0):
                clock.now = start + timedelta(seconds=6)  # meanwhile the other falls due
                try:
                    await asyncio.wait_for(second_dialled.wait(), 20)
                    overlapped.append(True)
                except TimeoutError:
                    overlapped.append(False)  # the worker waited for this call to end
            else:
                second_dialled.set()
            return await super().run(request)

    plan = load_dialplan(DEFAULT_DIALPLAN)
    dialer = Dialer(
        sessions,
        LongFirstCall(plan, scripts(2), clock=clock),
        worker_id="w1",
        clock=clock,
        max_concurrent=2,
        lease_seconds=60,
    )
    asyncio.run(dialer.run(campaign_id=campaign_id, until_idle=True, poll_s=0.05))
    assert overlapped == [True]
