"""From a journal entry to the database: what a call decided, written once whoever replays it.

The live worker and a worker replaying a dead one's journal go through the same
``settle``, so a crash anywhere between the decision and the commit ends the same way
as no crash at all. Record actions (opt-out, promise, dispute, invalid phone) are
facts about the debtor and are always written. An outcome is written only by the
attempt's lease holder (or onto a ``lost`` attempt, whose result it is); anything
else is discarded with a log line, so no attempt ever gets a second outcome.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from voicebot.actions import Action, MarkPhoneInvalid, OptOut, RecordDisposition, RecordPromise
from voicebot.domain.outcome import CallOutcome, Disposition, Promise, Turn
from voicebot.engine.follow_ups import schedule_follow_ups
from voicebot.engine.journal import ACTION, OUTCOME, Entry
from voicebot.storage import models as m
from voicebot.storage.repositories import (
    mark_disputed,
    mark_phone_invalid,
    record_call_opt_out,
    record_dial_failure,
    record_outcome,
    record_promise,
)
from voicebot.storage.transfers import settle_transfers
from voicebot.telephony.carrier import DialFailure

log = logging.getLogger(__name__)

WRITTEN, DUPLICATE, DISCARDED = "written", "duplicate", "discarded"
FINISHABLE = (*m.LIVE_ATTEMPT_STATUSES, "lost")


def action_data(action: Action) -> dict[str, Any] | None:
    """The journal form of a record action worth persisting mid-call (None: not one)."""
    match action:
        case OptOut():
            return {"action": "opt_out"}
        case MarkPhoneInvalid():
            return {"action": "phone_invalid"}
        case RecordPromise(promise=promise):
            return {"action": "promise", "promise": _promise_data(promise)}
        case RecordDisposition(disposition=Disposition.DISP):
            return {"action": "dispute"}
    return None


def outcome_data(outcome: CallOutcome) -> dict[str, Any]:
    data = outcome.to_json()
    data["promise"] = _promise_data(outcome.promise) if outcome.promise else None
    data["line_reason"] = outcome.line_reason
    return data


def failure_data(failure: DialFailure) -> dict[str, Any]:
    return {
        "disposition": failure.disposition.value,
        "status": failure.status,
        "reason": failure.reason,
    }


def settle(s: Session, entry: Entry, *, actor: str) -> str:
    """Write one journal entry; returns ``written``, ``duplicate`` or ``discarded``."""
    attempt = s.get(m.CallAttempt, entry.attempt_id, populate_existing=True)
    if attempt is None:
        log.warning("journal entry %s: attempt %s no longer exists", entry.seq, entry.attempt_id)
        return DISCARDED
    at = datetime.fromisoformat(entry.at)
    if entry.kind == ACTION:
        _apply_action(s, attempt, entry.data, actor=actor, at=at)
        return WRITTEN
    if attempt.status == "done":
        return DUPLICATE
    if attempt.status not in FINISHABLE or attempt.claimed_by != entry.worker:
        log.warning(
            "lease of %s on attempt %s was lost (now %s by %s): its %s is discarded",
            entry.worker,
            attempt.id,
            attempt.status,
            attempt.claimed_by,
            entry.kind,
        )
        return DISCARDED
    was_lost = attempt.status == "lost"
    if entry.kind == OUTCOME:
        outcome = outcome_from_data(entry.data)
        record_outcome(s, attempt_id=attempt.id, outcome=outcome, actor=actor, at=at)
        taken = outcome.disposition is Disposition.XFER
    else:
        failure = failure_from_data(entry.data)
        record_dial_failure(s, attempt_id=attempt.id, failure=failure, actor=actor, at=at)
        taken = False
    s.flush()
    if was_lost:
        # The reaper queued a retry not knowing this result: the result's follow-ups decide.
        s.execute(
            update(m.CallAttempt)
            .where(
                m.CallAttempt.status == "queued",
                m.CallAttempt.error == f"retry of lost attempt {attempt.id}",
            )
            .values(status="cancelled", error=f"superseded by attempt {attempt.id}'s result")
        )
    schedule_follow_ups(s, attempt_id=attempt.id, now=at)
    settle_transfers(s, attempt_id=attempt.id, taken=taken)
    return WRITTEN


def _apply_action(
    s: Session, attempt: m.CallAttempt, data: dict[str, Any], *, actor: str, at: datetime
) -> None:
    match data.get("action"):
        case "opt_out":
            record_call_opt_out(s, attempt=attempt, actor=actor, at=at)
        case "phone_invalid":
            mark_phone_invalid(s, attempt=attempt, actor=actor, at=at)
        case "promise":
            record_promise(s, attempt=attempt, promise=_promise_from(data["promise"]))
        case "dispute":
            mark_disputed(s, attempt=attempt)
        case other:
            log.warning("journal action %r unknown: skipped", other)


def outcome_from_data(data: dict[str, Any]) -> CallOutcome:
    flags = data.get("flags", {})
    return CallOutcome(
        disposition=Disposition(data["disposition"]),
        started_at=datetime.fromisoformat(data["started_at"]),
        ended_at=datetime.fromisoformat(data["ended_at"]),
        promise=_promise_from(data["promise"]) if data.get("promise") else None,
        callback_at=_when(data.get("callback_at")),
        transfer_reason=data.get("transfer_reason"),
        right_party_contacted=bool(flags.get("right_party_contacted")),
        disclosure_made=bool(flags.get("disclosure_made")),
        opt_out=bool(flags.get("opt_out")),
        phone_invalid=bool(flags.get("phone_invalid")),
        dispute_reason=data.get("dispute_reason"),
        paid_info=data.get("paid_info"),
        final_state=data.get("final_state", ""),
        transcript=tuple(_turn_from(t) for t in data.get("transcript", [])),
        line_reason=data.get("line_reason", ""),
        direction=data.get("direction", "outbound"),
        caller_id=data.get("caller_id", ""),
    )


def failure_from_data(data: dict[str, Any]) -> DialFailure:
    return DialFailure(Disposition(data["disposition"]), data.get("status"), data.get("reason", ""))


def _promise_data(promise: Promise) -> dict[str, Any]:
    # Exact amount as text: the JSON number of ``Promise.to_json`` may round a decimal.
    return {**promise.to_json(), "amount": str(promise.amount)}


def _promise_from(data: dict[str, Any]) -> Promise:
    return Promise(
        amount=Decimal(str(data["amount"])),
        currency=data["currency"],
        due=date.fromisoformat(data["date"]),
        instalments=int(data.get("instalments", 1)),
        partial=bool(data.get("partial", False)),
        link_requested=data.get("link_requested"),
    )


def _turn_from(data: dict[str, Any]) -> Turn:
    return Turn(
        at=datetime.fromisoformat(data["at"]),
        speaker=data["speaker"],
        text=data["text"],
        intent=data.get("intent"),
        confidence=data.get("confidence"),
        prompt=data.get("prompt"),
    )


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
