"""A campaign's finished-attempt tallies kept up to date by adding only what just finished.

``campaign_status`` aggregates every finished attempt: most of a second at 100,000
calls. A dashboard ticking every second cannot afford that, so this tracker adds, per
tick, only the attempts that finished since the last one, with the same
``finished_tallies`` and ``attempted_debtors`` queries ``campaign_status`` uses,
restricted to those ids. A finished attempt never changes again, so the running sums
equal a full recount.

Finding what finished is the cost at 100,000 attempts, so it has two paths:
- usual: the count and id sum of the campaign's finished attempts (one grouped scan of a
  covering index, which also gives the counts by status), and when they moved, the
  attempts that ended in the last ``RECENT`` before the newest end already counted (an
  index range). Their new ids must account exactly for the moved count and sum;
- otherwise (an attempt committed long after it ended, one deleted, the first tick): a
  fingerprint of the finished attempts in blocks of ids (count and id sum per block),
  whose changed blocks are read again; when a block moved without the matching new ids
  (an attempt deleted) the tracker starts over and recounts everything.
"""

from __future__ import annotations

import copy
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from voicebot.campaigns.kpis import CONTACT, PROMISES
from voicebot.campaigns.status import (
    OUTBOUND,
    Tally,
    attempted_debtors,
    finished,
    finished_tallies,
)
from voicebot.storage import models as m

T = TypeVar("T")
BLOCK = 256  # attempt ids per fingerprint block
BATCH = 5000  # ids (or blocks) per IN (...) list (SQLite allows 32766 parameters)
# How long after its end an attempt's commit is still found by the usual path: a worker
# commits the outcome as the call ends; a later commit takes the fingerprint path.
RECENT = timedelta(seconds=60)

Hours = dict[tuple[date, int], list[int]]  # (UTC day, hour) -> [attempts, contacts, promises]


def _hours_table() -> Hours:
    return defaultdict(lambda: [0, 0, 0])


@dataclass
class _State:
    fingerprints: dict[int, tuple[int, int]] = field(default_factory=dict)
    known: set[int] = field(default_factory=set)
    tallies: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    attempted: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    hours: Hours = field(default_factory=_hours_table)
    by_status: dict[Any, int] = field(default_factory=dict)
    inbound_mark: tuple[int, int] = (0, 0)
    counted: tuple[int, int] = (0, 0)  # count and id sum of ``known``
    newest_end: datetime | None = None  # the latest ``ended_at`` among ``known``
    scanned: bool = False  # the fingerprints were read once (the first tick)


@dataclass(frozen=True, slots=True)
class Finished:
    """What the dashboard needs of every finished attempt so far."""

    tallies: dict[str, Tally]
    attempted: dict[str, int]
    hours: Hours
    by_status: dict[Any, int]  # every attempt of the campaign, as ``attempts_by_status``
    inbound_mark: tuple[int, int]  # count and id sum of the finished inbound calls


class LiveTally:
    def __init__(self) -> None:
        self._states: dict[int, _State] = {}
        self._marked: dict[tuple[str, int], tuple[tuple[Any, ...], Any]] = {}
        self._lock = threading.Lock()

    def members(self, session: Session, campaign_id: int, count: Callable[[Session, int], T]) -> T:
        """``count`` (members by segment) again only when the campaign's members or any
        debtor changed: the member list's count and id sum, the latest debtor update."""
        mark = (
            *session.execute(
                select(func.count(), func.sum(m.CampaignDebtor.debtor_id)).where(
                    m.CampaignDebtor.campaign_id == campaign_id
                )
            ).one(),
            session.scalar(select(func.max(m.Debtor.updated_at))),
        )
        return self._cached(("members", campaign_id), mark, lambda: count(session, campaign_id))

    def promised(self, session: Session, campaign_id: int, total: Callable[[Session, int], T]) -> T:
        """``total`` (promised amounts) again only when the campaign's promises changed
        (a promise's amount is never edited; a debtor's segment is covered by its update)."""
        mark = (
            *session.execute(
                select(func.count(), func.sum(m.PromiseToPay.id)).where(
                    m.PromiseToPay.campaign_id == campaign_id
                )
            ).one(),
            session.scalar(select(func.max(m.Debtor.updated_at))),
        )
        return self._cached(("promised", campaign_id), mark, lambda: total(session, campaign_id))

    def inbound(
        self,
        session: Session,
        campaign_id: int,
        done: Finished,
        compute: Callable[[Session, int], T],
    ) -> T:
        """``compute`` (the inbound block) again only when an inbound call finished or a
        debtor changed."""
        mark = (*done.inbound_mark, session.scalar(select(func.max(m.Debtor.updated_at))))
        return self._cached(("inbound", campaign_id), mark, lambda: compute(session, campaign_id))

    def _cached(self, key: tuple[str, int], mark: tuple[Any, ...], compute: Callable[[], T]) -> T:
        cached = self._marked.get(key)
        if cached is not None and cached[0] == mark:
            return copy.deepcopy(cached[1])  # type: ignore[no-any-return]
        fresh = compute()
        self._marked[key] = (mark, fresh)
        return copy.deepcopy(fresh)

    def update(self, session: Session, campaign_id: int) -> Finished:
        """Catch up with what finished since the last call; returns copies to read freely."""
        with self._lock:
            state = self._states.setdefault(campaign_id, _State())
            fresh = self._finished_since(session, campaign_id, state)
            if fresh is None:
                state = self._states[campaign_id] = _State()
                fresh = self._finished_since(session, campaign_id, state) or []
            for start in range(0, len(fresh), BATCH):
                self._add(session, campaign_id, state, fresh[start : start + BATCH])
            tallies: dict[str, Tally] = {}
            for segment, tally in state.tallies.items():
                tallies[segment] = Tally()
                tallies[segment].merge(tally)
            return Finished(
                tallies=tallies,
                attempted={segment: len(ids) for segment, ids in state.attempted.items()},
                hours={key: list(counts) for key, counts in state.hours.items()},
                by_status=dict(state.by_status),
                inbound_mark=state.inbound_mark,
            )

    def forget(self, campaign_id: int) -> None:
        with self._lock:
            self._states.pop(campaign_id, None)
            self._marked.pop(("members", campaign_id), None)
            self._marked.pop(("promised", campaign_id), None)

    def _finished_since(
        self, session: Session, campaign_id: int, state: _State
    ) -> list[int] | None:
        """Ids finished since the last tick, or None when the tracker must start over."""
        fresh: list[int] = []
        # Statements read what is committed when each runs: a call finishing between the
        # marks and the recent ids shows as a surplus; one more round settles it.
        for _ in range(2):
            done = self._marks(session, campaign_id, state)
            if not state.scanned or state.newest_end is None:
                break
            if done == state.counted:
                return sorted(fresh)
            fresh += self._recent(session, campaign_id, state)
            if done == state.counted:
                return sorted(fresh)
        rest = self._by_blocks(session, campaign_id, state)
        return None if rest is None else sorted(fresh + rest)

    def _marks(self, session: Session, campaign_id: int, state: _State) -> tuple[int, int]:
        """Count and id sum of the finished outbound attempts, from one grouped scan of a
        covering index that also gives the counts by status and the inbound mark."""
        scanned = session.execute(
            select(
                m.CallAttempt.status,
                m.CallAttempt.direction,
                func.count(),
                func.sum(m.CallAttempt.id),
            )
            .where(m.CallAttempt.campaign_id == campaign_id)
            .group_by(m.CallAttempt.status, m.CallAttempt.direction)
        ).all()
        by_status: dict[Any, int] = {}
        done = inbound = (0, 0)
        for status, way, n, total in scanned:
            if way == OUTBOUND:
                by_status[status] = by_status.get(status, 0) + int(n)
                if status == "done":
                    done = (int(n), int(total))
            elif status == "done":
                inbound = (inbound[0] + int(n), inbound[1] + int(total))
        state.by_status = by_status
        state.inbound_mark = inbound
        return done

    def _recent(self, session: Session, campaign_id: int, state: _State) -> list[int]:
        """The usual path: the finished attempts not counted yet among those that ended
        lately (an index range); each is counted at once (a finished attempt is final)."""
        assert state.newest_end is not None
        # Two index ranges (an OR of both would make SQLite scan every finished attempt).
        rows = [
            *session.execute(
                select(m.CallAttempt.id, m.CallAttempt.ended_at).where(
                    finished(campaign_id), m.CallAttempt.ended_at >= state.newest_end - RECENT
                )
            ),
            *session.execute(
                select(m.CallAttempt.id, m.CallAttempt.ended_at).where(
                    finished(campaign_id), m.CallAttempt.ended_at.is_(None)
                )
            ),
        ]
        fresh = []
        count, total = state.counted
        for i, ended in rows:
            if i in state.known:
                continue
            fresh.append(i)
            state.known.add(i)
            mark = state.fingerprints.get(i // BLOCK, (0, 0))
            state.fingerprints[i // BLOCK] = (mark[0] + 1, mark[1] + i)
            count, total = count + 1, total + i
            if ended is not None and ended > state.newest_end:
                state.newest_end = ended
        state.counted = (count, total)
        return fresh

    def _by_blocks(self, session: Session, campaign_id: int, state: _State) -> list[int] | None:
        """The fingerprint path: re-read the blocks of ids whose count or sum moved."""
        block = _block(session)
        rows = session.execute(
            select(block, func.count(), func.sum(m.CallAttempt.id))
            .where(finished(campaign_id))
            .group_by(block)
        ).all()
        now = {int(b): (int(n), int(total)) for b, n, total in rows}
        if any(b not in now for b in state.fingerprints):
            return None
        changed = [b for b, mark in now.items() if state.fingerprints.get(b) != mark]
        fresh: list[int] = []
        marks: dict[int, tuple[int, int]] = {}
        known_seen = 0
        for start in range(0, len(changed), BATCH):
            ids = session.execute(
                select(m.CallAttempt.id, m.CallAttempt.ended_at).where(
                    finished(campaign_id), block.in_(changed[start : start + BATCH])
                )
            )
            for i, ended in ids:
                count, total = marks.get(i // BLOCK, (0, 0))
                marks[i // BLOCK] = (count + 1, total + i)
                if i in state.known:
                    known_seen += 1
                else:
                    fresh.append(i)
                    if ended is not None and (state.newest_end is None or ended > state.newest_end):
                        state.newest_end = ended
        if known_seen != sum(state.fingerprints.get(b, (0, 0))[0] for b in changed):
            return None  # a finished attempt vanished or was replaced: recount
        # The marks of what was read (a commit between the queries shows next tick).
        state.fingerprints.update(marks)
        state.counted = (
            sum(n for n, _ in state.fingerprints.values()),
            sum(t for _, t in state.fingerprints.values()),
        )
        state.scanned = True
        return sorted(fresh)

    def _add(self, session: Session, campaign_id: int, state: _State, ids: list[int]) -> None:
        # The ids alone (all finished attempts of the campaign, and final): with the
        # campaign's terms too the planner may walk the campaign's index, not the ids.
        these = m.CallAttempt.id.in_(ids)
        for segment, tally in finished_tallies(session, these).items():
            state.tallies[segment].merge(tally)
        for segment_key, debtors in attempted_debtors(session, these).items():
            state.attempted[segment_key] |= debtors
        for key, counts in _hours(session, these).items():
            slot = state.hours[key]
            for i, n in enumerate(counts):
                slot[i] += n
        state.known.update(ids)


def _block(session: Session) -> Any:
    """The fingerprint block of an attempt id (SQLAlchemy renders ``//`` as integer division)."""
    return m.CallAttempt.id // BLOCK


def _hours(session: Session, attempts: ColumnElement[bool]) -> Hours:
    contact = [d.value for d in CONTACT]
    promise = [d.value for d in PROMISES]
    rows = session.execute(
        select(
            m.CallAttempt.ended_at,
            case((m.CallAttempt.disposition.in_(contact), 1), else_=0),
            case((m.CallAttempt.disposition.in_(promise), 1), else_=0),
        ).where(
            attempts, m.CallAttempt.disposition.is_not(None), m.CallAttempt.ended_at.is_not(None)
        )
    ).all()
    found = _hours_table()
    for ended, is_contact, is_promise in rows:
        slot = found[(ended.date(), ended.hour)]
        slot[0] += 1
        slot[1] += int(is_contact)
        slot[2] += int(is_promise)
    return found
