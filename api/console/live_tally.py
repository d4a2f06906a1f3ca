"""A campaign's dashboard figures kept up to date by reading only what changed since the last tick.

``campaign_status`` aggregates every attempt: most of a second at 100,000 calls. A
dashboard ticking every second cannot afford that, so this tracker adds, per tick, only
the attempts that finished since the last one, with the same ``finished_tallies`` query
``campaign_status`` uses (and their debtors by segment, whose union's sizes are its
distinct counts), restricted to those ids. A finished attempt never changes again, so the
running sums equal a full recount.

A usual tick reads only what moved, in one statement (``live_moves``):
- the attempts that ended in the last ``RECENT`` before the newest end already counted
  (an index range), the new ones;
- the attempts neither finished nor queued (in flight, cancelled, lost: index ranges),
  and the attempts created since the last tick (``IdWindow``); the queued ones are the
  rest, so every move between queued and another status is counted exactly;
- the finished inbound calls (an index range) and cheap marks of the other parts (the
  debtors' newest update, the promises', texts', payments' and audit log's newest rows):
  a part (members, promises, follow-ups, refusals) is recomputed only when its mark moved.

What a usual tick cannot see (an attempt committed long after it ended, a row deleted, a
member added without its debtor changing, a row committed long after its id was taken)
is corrected by a full recount every ``RECONCILE_TICKS`` ticks, or at once when the
figures disagree: every cached part computed again, one grouped scan of the attempts'
covering index, and when the finished ones moved without matching new ids, a fingerprint
of them in blocks of ids (count and id sum per block) whose changed blocks are read
again; when a block moved without the matching new ids (an attempt deleted) the tracker
starts over.
"""

from __future__ import annotations

import copy
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Integer, String, func, null, select, union_all
from sqlalchemy.orm import Session

from api.console.live_moves import Moves, read_moves
from api.console.live_window import IdWindow
from voicebot.campaigns.kpis import CONTACT, PROMISES
from voicebot.campaigns.status import (
    OUTBOUND,
    Tally,
    finished,
    finished_tallies,
)
from voicebot.storage import models as m

T = TypeVar("T")
BLOCK = 256  # attempt ids per fingerprint block
BATCH = 5000  # ids (or blocks) per IN (...) list (SQLite allows 32766 parameters)
# How long after its end an attempt's commit is still found by the usual path: a worker
# commits the outcome as the call ends; a later commit waits for the next full recount.
RECENT = timedelta(seconds=60)
# A full recount (the attempts and every cached part) every this many ticks (30 s at the
# default one-second tick): ~3% of the ticks, so the usual tick's cost is the dashboard's.
RECONCILE_TICKS = 30
REFUSED = "dial_refused"
CONTACT_CODES = frozenset(d.value for d in CONTACT)
PROMISE_CODES = frozenset(d.value for d in PROMISES)
# The audit entries a tick reads: refusals, and what changes a promise's status (each is
# written in the transaction that changes it).
WATCHED = (REFUSED, "promise_kept", "promise_broken", "promise_partly_paid")

# The typed blanks of the full scan's two row shapes (UNION ALL).
NO_ID = null().cast(Integer)
NO_COUNT = null().cast(Integer)
NO_STATUS = null().cast(String)

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
    ticks: int = 0  # ticks since the tracker started (the recount cycle's position)
    outbound: int = 0  # the campaign's outbound attempts, whatever their status
    created: IdWindow = field(default_factory=IdWindow)  # the newest attempts already counted
    refusals: dict[str, int] = field(default_factory=dict)  # dials refused, by rule
    audited: IdWindow | None = None  # the newest audit entries read (None: none yet)
    promise_event: int = 0  # the newest audit entry of a promise kept, broken or part-paid
    pending: list[int] = field(default_factory=list)  # found finished, figures not added yet


@dataclass(frozen=True, slots=True)
class Finished:
    """What the dashboard needs of every finished attempt so far, and this tick's marks."""

    tallies: dict[str, Tally]
    attempted: dict[str, int]
    hours: Hours
    by_status: dict[Any, int]  # every attempt of the campaign, as ``attempts_by_status``
    inbound_mark: tuple[int, int]  # count and id sum of the finished inbound calls
    refusals: dict[str, int]  # as ``refusals_by_rule``
    marks: dict[str, tuple[Any, ...]]  # what moves when a cached part changes (``read_moves``)
    reconciled: bool  # this tick recounts everything (the cached parts too)


class LiveTally:
    def __init__(self, reconcile_every: int = RECONCILE_TICKS) -> None:
        self.reconcile_every = max(reconcile_every, 1)
        self._states: dict[int, _State] = {}
        self._marked: dict[tuple[str, int], tuple[tuple[Any, ...], Any]] = {}
        self._lock = threading.Lock()

    def members(
        self, session: Session, campaign_id: int, done: Finished, count: Callable[[Session, int], T]
    ) -> T:
        """``count`` (members by segment) again when a debtor was added or changed (a new
        member that is an old, unchanged debtor shows at the next full recount, or at once
        when the console imported it: ``refresh``)."""
        return self._part("members", session, campaign_id, done, ("debtors",), count)

    def promised(
        self, session: Session, campaign_id: int, done: Finished, total: Callable[[Session, int], T]
    ) -> T:
        """``total`` (promised amounts) again only when the campaign's promises changed
        (a promise's amount is never edited; a debtor's segment is covered by its update):
        an exact mark, so not recomputed by the full recount either."""
        parts = ("promises", "debtors")
        return self._part("promised", session, campaign_id, done, parts, total, exact=True)

    def inbound(
        self,
        session: Session,
        campaign_id: int,
        done: Finished,
        compute: Callable[[Session, int], T],
    ) -> T:
        """``compute`` (the inbound block) again only when an inbound call finished, a
        promise was made or a debtor changed."""
        parts = ("inbound", "promises", "debtors")
        return self._part("inbound", session, campaign_id, done, parts, compute)

    def follow_ups(
        self,
        session: Session,
        campaign_id: int,
        done: Finished,
        compute: Callable[[Session, int], T],
    ) -> T:
        """``compute`` (kept and broken promises, money recovered, texts sent) again only
        when a promise, a text, a payment or a debtor changed."""
        parts = ("promises", "promise_events", "texts", "payments", "debtors")
        return self._part("follow_ups", session, campaign_id, done, parts, compute)

    def _part(
        self,
        name: str,
        session: Session,
        campaign_id: int,
        done: Finished,
        marks: tuple[str, ...],
        compute: Callable[[Session, int], T],
        *,
        exact: bool = False,
    ) -> T:
        key = (name, campaign_id)
        mark = tuple(done.marks[part] for part in marks)
        cached = self._marked.get(key)
        if cached is None or cached[0] != mark or (done.reconciled and not exact):
            cached = self._marked[key] = (mark, compute(session, campaign_id))
        return copy.deepcopy(cached[1])

    def update(self, session: Session, campaign_id: int) -> Finished:
        """Catch up with what changed since the last call; returns copies to read freely."""
        with self._lock:
            state = self._states.setdefault(campaign_id, _State())
            reconcile = state.ticks % self.reconcile_every == 0
            state.ticks += 1
            usual = not reconcile and state.scanned and state.audited is not None
            # Nothing ended yet (a campaign just launched): every end is recent.
            since = (
                state.newest_end - RECENT if state.newest_end else datetime(1970, 1, 1, tzinfo=UTC)
            )
            moves = read_moves(
                session,
                campaign_id,
                ended_since=since if usual else None,
                created_above=state.created.floor if usual else None,
                audit_above=state.audited.floor if usual and state.audited else None,
            )
            fresh = self._follow(campaign_id, state, moves) if usual else None
            if fresh is None:  # a recount is due, or the usual tick's figures disagree
                fresh = self._recount(session, campaign_id, state, state.pending)
            if fresh is None:
                state = self._states[campaign_id] = _State(ticks=state.ticks)
                reconcile = True
                fresh = self._recount(session, campaign_id, state, []) or []
            state.pending = []
            for start in range(0, len(fresh), BATCH):
                self._add(session, state, fresh[start : start + BATCH])
            if not usual:
                self._audited(session, campaign_id, state)
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
                refusals=dict(state.refusals),
                marks={
                    **moves.marks,
                    "inbound": state.inbound_mark,
                    "promise_events": (state.promise_event,),
                },
                reconciled=reconcile,
            )

    def ticks(self, campaign_id: int) -> int:
        """Ticks so far (``reconcile_every`` divides it: the next one is a full recount)."""
        state = self._states.get(campaign_id)
        return 0 if state is None else state.ticks

    def refresh(self, campaign_id: int) -> None:
        """Recount everything at the next tick (the console just changed the campaign)."""
        with self._lock:
            if campaign_id in self._states:
                self._states[campaign_id].ticks = 0
            for key in [k for k in self._marked if k[1] == campaign_id]:
                del self._marked[key]

    def forget(self, campaign_id: int) -> None:
        with self._lock:
            self._states.pop(campaign_id, None)
            for key in [k for k in self._marked if k[1] == campaign_id]:
                del self._marked[key]

    def _recount(
        self, session: Session, campaign_id: int, state: _State, fresh: list[int]
    ) -> list[int] | None:
        """The full check: every attempt's status in one grouped scan, then the finished
        ones found by the recent ends or by blocks of ids."""
        # Statements read what is committed when each runs: a call finishing between the
        # scan and the recent ids shows as a surplus; one more round settles it.
        for _ in range(2):
            done = self._scan(session, campaign_id, state)
            if not state.scanned or state.newest_end is None:
                break
            if done == state.counted:
                return sorted(fresh)
            fresh += self._recent(session, campaign_id, state)
            if done == state.counted:
                return sorted(fresh)
        rest = self._by_blocks(session, campaign_id, state)
        return None if rest is None else sorted(fresh + rest)

    def _scan(self, session: Session, campaign_id: int, state: _State) -> tuple[int, int]:
        """Count and id sum of the finished outbound attempts, from one grouped scan of a
        covering index that also gives the counts by status, the inbound mark, and (in
        the same statement, so nothing is counted twice) the newest ids one by one."""
        attempt = m.CallAttempt
        largest = session.scalar(select(func.max(attempt.id))) or 0
        window = IdWindow.starting_at(largest)
        ours = attempt.campaign_id == campaign_id
        scanned = session.execute(
            union_all(
                select(attempt.status, attempt.direction, func.count(), func.sum(attempt.id), NO_ID)
                .where(ours)
                .group_by(attempt.status, attempt.direction),
                # The newest ids apart (not in the GROUP BY: it would leave the index's order),
                # every campaign's (the id range alone: with the campaign's term the planner
                # may walk the campaign's index); only the campaign's are counted anyway.
                select(NO_STATUS, NO_STATUS, NO_COUNT, NO_COUNT, attempt.id).where(
                    attempt.id > window.floor
                ),
            )
        ).all()
        by_status: dict[Any, int] = {}
        done = inbound = (0, 0)
        outbound = 0
        for status, way, n, total, attempt_id in scanned:
            if attempt_id is not None:
                window.seen.add(int(attempt_id))
                continue
            if way == OUTBOUND:
                by_status[status] = by_status.get(status, 0) + int(n)
                outbound += int(n)
                if status == "done":
                    done = (done[0] + int(n), done[1] + int(total))
            elif status == "done":
                inbound = (inbound[0] + int(n), inbound[1] + int(total))
        state.by_status = by_status
        state.inbound_mark = inbound
        state.outbound = outbound
        state.created = window
        return done

    def _follow(self, campaign_id: int, state: _State, moves: Moves) -> list[int] | None:
        """The usual tick: the attempts that finished lately, the ones created since the
        last tick, the ones neither finished nor queued, and the queued ones as the rest;
        the audit entries since the last tick. None when the figures cannot add up (a row
        deleted): the caller recounts, with the finished ones found here (``pending``)."""
        state.pending = self._count(state, moves.recent)
        outbound = set(moves.created_outbound)
        ours = [*moves.created_outbound, *moves.created_other]
        created = state.created.unseen(ours, moves.largest_created)
        state.outbound += sum(i in outbound for i in created)
        by_status = dict(moves.others)
        finished_count = state.counted[0]
        queued = state.outbound - finished_count - sum(by_status.values())
        if queued < 0:
            return None
        for key, n in (("done", finished_count), ("queued", queued)):
            if n:
                by_status[key] = n
        state.by_status = by_status
        state.inbound_mark = moves.inbound
        audited = state.audited
        assert audited is not None
        rows = {
            i: (action, rule)
            for i, campaign, action, rule in moves.audit
            if campaign == campaign_id and action in WATCHED
        }
        largest = max((i for i, _, _, _ in moves.audit), default=0)
        for entry_id in audited.unseen(rows, largest):
            action, rule = rows[entry_id]
            if action == REFUSED:
                state.refusals[rule] = state.refusals.get(rule, 0) + 1
            else:
                state.promise_event = max(state.promise_event, entry_id)
        return sorted(state.pending)

    def _audited(self, session: Session, campaign_id: int, state: _State) -> None:
        """The recount of the dials refused by rule (``refusals_by_rule``) and of the newest
        promise kept or broken (a usual tick adds the new entries: the log is append-only)."""
        entry = m.AuditEntry
        ours = (entry.campaign_id == campaign_id) & entry.action.in_(WATCHED)
        largest = session.scalar(select(func.max(entry.id))) or 0
        window = IdWindow.starting_at(largest)
        refusals: dict[str, int] = defaultdict(int)
        promised = 0
        for action, rule, n, newest, entry_id in session.execute(
            union_all(
                select(entry.action, entry.rule, func.count(), func.max(entry.id), NO_ID)
                .where(ours)
                .group_by(entry.action, entry.rule),
                select(NO_STATUS, NO_STATUS, NO_COUNT, NO_COUNT, entry.id).where(
                    entry.id > window.floor, ours
                ),
            )
        ):
            if entry_id is not None:
                window.seen.add(int(entry_id))
            elif action == REFUSED:
                refusals[rule] += int(n)
            else:
                promised = max(promised, int(newest))
        state.refusals, state.audited, state.promise_event = dict(refusals), window, promised

    def _recent(self, session: Session, campaign_id: int, state: _State) -> list[int]:
        """The finished attempts not counted yet among those that ended lately (an index
        range), counted at once (a finished attempt is final)."""
        assert state.newest_end is not None
        moves = read_moves(
            session,
            campaign_id,
            ended_since=state.newest_end - RECENT,
            created_above=None,
            audit_above=None,
        )
        return self._count(state, moves.recent)

    def _count(self, state: _State, ids: list[int]) -> list[int]:
        """Marks the ids not known yet as counted (their figures: ``_add``)."""
        fresh = [i for i in ids if i not in state.known]
        count, total = state.counted
        for i in fresh:
            state.known.add(i)
            mark = state.fingerprints.get(i // BLOCK, (0, 0))
            state.fingerprints[i // BLOCK] = (mark[0] + 1, mark[1] + i)
            count, total = count + 1, total + i
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

    def _add(self, session: Session, state: _State, ids: list[int]) -> None:
        # The ids alone (all finished attempts of the campaign, and final): with the
        # campaign's terms too the planner may walk the campaign's index, not the ids.
        these = m.CallAttempt.id.in_(ids)
        for segment, tally in finished_tallies(session, these).items():
            state.tallies[segment].merge(tally)
        # Who was attempted (sets: their union's sizes are ``campaign_status``'s distinct
        # counts) and the day by hour, from one read.
        rows = session.connection().execute(
            select(
                m.Debtor.segment,
                m.CallAttempt.debtor_id,
                m.CallAttempt.ended_at,
                m.CallAttempt.disposition,
            )
            .join(m.Debtor, m.Debtor.id == m.CallAttempt.debtor_id)
            .where(these)
        )
        for segment, debtor_id, ended, disposition in rows:
            state.attempted[segment].add(debtor_id)
            if ended is None:
                continue
            if state.newest_end is None or ended > state.newest_end:
                state.newest_end = ended
            if disposition is not None:
                slot = state.hours[(ended.date(), ended.hour)]
                slot[0] += 1
                slot[1] += disposition in CONTACT_CODES
                slot[2] += disposition in PROMISE_CODES
        state.known.update(ids)


def _block(session: Session) -> Any:
    """The fingerprint block of an attempt id (SQLAlchemy renders ``//`` as integer division)."""
    return m.CallAttempt.id // BLOCK
