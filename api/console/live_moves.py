"""What moved in a campaign since the last dashboard tick, read in ONE statement.

A usual tick needs a dozen small reads (index ranges and index ends). Issued one by one,
each gives the interpreter lock away while the database works, and the thread then waits
for a busy event loop (fifty open streams) to hand it back: under load the waits, not the
reads, were most of a tick. So they go to the database as one ``UNION ALL`` of rows of one
shape, ``(kind, a, b, c, d, text, more)``, each part planned on its own index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from voicebot.campaigns.status import INBOUND, OUTBOUND, SENT_TEXTS, finished
from voicebot.storage import models as m


@dataclass
class Moves:
    recent: list[int] = field(default_factory=list)  # finished attempts that ended lately
    largest_created: int = 0  # the largest attempt id above the floor, any campaign's
    created_outbound: list[int] = field(default_factory=list)  # the campaign's, above it
    created_other: list[int] = field(default_factory=list)  # the campaign's inbound ones
    others: dict[str, int] = field(default_factory=dict)  # neither done nor queued, outbound
    inbound: tuple[int, int] = (0, 0)  # count and id sum of the finished inbound calls
    audit: list[tuple[int, int | None, str, str]] = field(default_factory=list)
    marks: dict[str, tuple[Any, ...]] = field(default_factory=dict)


def _row(kind: str, *values: Any) -> list[Any]:
    """One part's columns in the shared shape (typed blanks where it has nothing)."""
    ints = [*values[:4], *[None] * (4 - len(values[:4]))]
    texts = [*values[4:6], *[None] * (2 - len(values[4:6]))]
    return [
        literal(kind, String),
        *(null().cast(Integer) if v is None else v for v in ints),
        *(null().cast(String) if v is None else v for v in texts),
    ]


def _id_list(session: Session, ids: Any) -> Any:
    """The non-null ``ids`` as one comma-separated text, in the database's own dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return func.string_agg(cast(ids, String), ",")
    return func.group_concat(ids, ",")


def _ids(text: str | None) -> list[int]:
    return [int(i) for i in text.split(",")] if text else []


def read_moves(
    session: Session,
    campaign_id: int,
    *,
    ended_since: datetime | None,
    created_above: int | None,
    audit_above: int | None,
) -> Moves:
    """The attempts that ended since ``ended_since`` (and finished ones without an end),
    every attempt and audit entry above the given ids (all campaigns: with the campaign's
    term the planner may walk the campaign's index, not the id range), the outbound
    attempts neither done nor queued by status, the finished inbound calls, and the marks
    of the cached parts (``live_tally``)."""
    attempt, entry, promise, text = m.CallAttempt, m.AuditEntry, m.PromiseToPay, m.Message
    parts: list[Select[Any]] = []
    if ended_since is not None:
        ended = finished(campaign_id)
        # Thousands of ids at 50 calls a second: one comma-separated list each (a row per
        # id through the driver cost more than the query). Two index ranges: an OR of both
        # would make SQLite scan every finished attempt.
        ids = _id_list(session, attempt.id)
        parts.append(
            select(*_row("recent", None, None, None, None, ids)).where(
                ended, attempt.ended_at >= ended_since
            )
        )
        parts.append(
            select(*_row("recent", None, None, None, None, ids)).where(
                ended, attempt.ended_at.is_(None)
            )
        )
    if created_above is not None:
        # The id range alone (with the campaign's term the planner may walk the campaign's
        # index instead); the campaign's ids picked inside the aggregates.
        ours = attempt.campaign_id == campaign_id
        outbound = case((ours & (attempt.direction == OUTBOUND), attempt.id), else_=None)
        other = case((ours & (attempt.direction != OUTBOUND), attempt.id), else_=None)
        parts.append(
            select(
                *_row(
                    "created",
                    func.max(attempt.id),
                    None,
                    None,
                    None,
                    _id_list(session, outbound),
                    _id_list(session, other),
                )
            ).where(attempt.id > created_above)
        )
    status = attempt.status
    # Three index ranges around the two large statuses (whatever the collation, every other
    # status sorts in one of them); an OR of them would make SQLite scan them all.
    for outside in (status < "done", and_(status > "done", status < "queued"), status > "queued"):
        parts.append(
            select(*_row("status", func.count(), None, None, None, status))
            .where(attempt.campaign_id == campaign_id, outside, attempt.direction == OUTBOUND)
            .group_by(status)
        )
    parts.append(
        select(*_row("inbound", func.count(), func.sum(attempt.id))).where(
            finished(campaign_id, INBOUND)
        )
    )
    if audit_above is not None:
        parts.append(
            select(
                *_row("audit", entry.id, entry.campaign_id, None, None, entry.action, entry.rule)
            ).where(entry.id > audit_above)
        )
    # The marks: index ends, and one pass over the campaign's promises and texts.
    parts.append(
        select(
            *_row(
                "newest",
                select(func.max(m.Debtor.id)).scalar_subquery(),
                select(func.max(m.Payment.id)).scalar_subquery(),
                None,
                None,
                cast(select(func.max(m.Debtor.updated_at)).scalar_subquery(), String),
            )
        )
    )
    parts.append(
        select(*_row("promises", func.count(), func.sum(promise.id))).where(
            promise.campaign_id == campaign_id
        )
    )
    parts.append(
        select(
            *_row(
                "texts",
                func.count(),
                func.sum(text.id),
                func.sum(case((text.status.in_(SENT_TEXTS), text.id), else_=0)),
                func.sum(case((text.status == "refused", text.id), else_=0)),
            )
        ).where(text.campaign_id == campaign_id)
    )
    moves = Moves()
    for kind, a, b, c, d, words, more in session.connection().execute(union_all(*parts)):
        if kind == "recent":
            moves.recent += _ids(words)
        elif kind == "created":
            moves.largest_created = int(a or 0)
            moves.created_outbound = _ids(words)
            moves.created_other = _ids(more)
        elif kind == "status":
            moves.others[words] = int(a)
        elif kind == "inbound":
            moves.inbound = (int(a), int(b or 0))
        elif kind == "audit":
            moves.audit.append((int(a), None if b is None else int(b), str(words), str(more)))
        elif kind == "newest":
            moves.marks["debtors"] = (a, words)
            moves.marks["payments"] = (b,)
        elif kind == "promises":
            moves.marks["promises"] = (int(a), int(b or 0))
        elif kind == "texts":
            moves.marks["texts"] = (int(a), int(b or 0), int(c or 0), int(d or 0))
    return moves
