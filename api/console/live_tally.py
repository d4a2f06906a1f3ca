"""A campaign's finished-attempt tallies kept up to date by adding only what just finished.

``campaign_status`` aggregates every finished attempt: most of a second at 100,000
calls. A dashboard ticking every second cannot afford that, so this tracker reads, per
tick, a fingerprint of the finished attempts in blocks of ids (count and sum of ids per
block: one grouped scan, no joins), finds the attempts that finished since the last tick
in the blocks that changed, and adds their tallies with the same ``finished_tallies``
and ``attempted_debtors`` queries ``campaign_status`` uses, restricted to those ids.
A finished attempt never changes again, so the running sums equal a full recount; when
a fingerprint moves without the matching new ids (an attempt deleted) the tracker starts
over and recounts everything.
"""

from __future__ import annotations

import copy
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
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
        block = _block(session)
        # One scan of the campaign's attempts (a covering index): counts by status as well.
        scanned = session.execute(
            select(
                m.CallAttempt.status,
                block,
                func.count(),
                func.sum(m.CallAttempt.id),
                m.CallAttempt.direction,
            )
            .where(m.CallAttempt.campaign_id == campaign_id)
            .group_by(m.CallAttempt.status, block, m.CallAttempt.direction)
        ).all()
        rows = [(status, b, n, total) for status, b, n, total, way in scanned if way == OUTBOUND]
        inbound = [
            (n, total)
            for status, _, n, total, way in scanned
            if way != OUTBOUND and status == "done"
        ]
        state.inbound_mark = (sum(int(n) for n, _ in inbound), sum(int(s) for _, s in inbound))
        by_status: dict[Any, int] = {}
        for status, _, n, _ in rows:
            by_status[status] = by_status.get(status, 0) + int(n)
        state.by_status = by_status
        now = {int(b): (int(n), int(total)) for status, b, n, total in rows if status == "done"}
        if any(b not in now for b in state.fingerprints):
            return None
        changed = [b for b, mark in now.items() if state.fingerprints.get(b) != mark]
        fresh: list[int] = []
        marks: dict[int, tuple[int, int]] = {}
        known_seen = 0
        for start in range(0, len(changed), BATCH):
            ids = session.scalars(
                select(m.CallAttempt.id).where(
                    finished(campaign_id), block.in_(changed[start : start + BATCH])
                )
            )
            for i in ids:
                count, total = marks.get(i // BLOCK, (0, 0))
                marks[i // BLOCK] = (count + 1, total + i)
                if i in state.known:
                    known_seen += 1
                else:
                    fresh.append(i)
        if known_seen != sum(state.fingerprints.get(b, (0, 0))[0] for b in changed):
            return None  # a finished attempt vanished or was replaced: recount
        # The marks of what was read (a commit between the two queries shows next tick).
        state.fingerprints.update(marks)
        return sorted(fresh)

    def _add(self, session: Session, campaign_id: int, state: _State, ids: list[int]) -> None:
        these = finished(campaign_id) & m.CallAttempt.id.in_(ids)
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
