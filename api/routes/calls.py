"""Finished calls: filtered lists and one call with its transcript, promise and recording."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import Select, literal, select, tuple_

from api.deps import AnyRoleDep, SessionDep
from api.errors import error_response, not_found
from api.fields import IdPath, IdQuery, MomentQuery, filter_text
from api.pagination import Limit, Offset, decode_cursor, encode_cursor, paginate
from api.schemas import (
    CallDetail,
    CallSummary,
    Page,
    PromiseOut,
    RecordingInfo,
    TimelineMark,
    TurnOut,
)
from api.security import AGENT, Principal
from voicebot.recording.ranges import RangeNotSatisfiable, byte_range
from voicebot.recording.store import RecordingStore
from voicebot.storage import models as m
from voicebot.storage.models import UtcDateTime
from voicebot.storage.repositories import append_audit

router = APIRouter(prefix="/calls", tags=["calls"])

T = TypeVar("T", bound=Any)


def visible_to(query: Select[T], who: Principal) -> Select[T]:
    """Agents see only the calls transferred to them; the other roles see every call."""
    if who.role != AGENT:
        return query
    mine = select(m.TransferRequest.attempt_id).where(m.TransferRequest.agent == who.agent_name)
    return query.where(m.CallRecord.attempt_id.in_(mine))


@router.get("")
def list_calls(
    request: Request,
    session: SessionDep,
    who: AnyRoleDep,
    campaign_id: IdQuery = None,
    debtor_id: IdQuery = None,
    disposition: Annotated[str | None, filter_text(8)] = None,
    direction: Annotated[
        Literal["outbound", "inbound"] | None,
        Query(description="only calls the service made (outbound) or the debtors made (inbound)"),
    ] = None,
    since: MomentQuery = None,
    until: MomentQuery = None,
    cursor: Annotated[
        str | None,
        Query(max_length=200, description="`next_cursor` of the previous page (instead of offset)"),
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[CallSummary]:
    """Newest first; ``since``/``until`` bound the call's start (aware ISO 8601).

    Deep pages: follow ``next_cursor`` (constant cost) rather than a large ``offset``.
    """
    query = select(m.CallRecord).order_by(m.CallRecord.started_at.desc(), m.CallRecord.id.desc())
    if campaign_id is not None:
        query = query.where(m.CallRecord.campaign_id == campaign_id)
    if debtor_id is not None:
        query = query.where(m.CallRecord.debtor_id == debtor_id)
    if disposition is not None:
        query = query.where(m.CallRecord.disposition == disposition.upper())
    if direction is not None:
        query = query.where(m.CallRecord.direction == direction)
    if since is not None:
        query = query.where(m.CallRecord.started_at >= since)
    if until is not None:
        query = query.where(m.CallRecord.started_at < until)
    query = visible_to(query, who)
    counted = query
    if cursor is not None:
        at, key = decode_cursor(cursor, request.app.state.cursor_secret)
        query = query.where(
            tuple_(m.CallRecord.started_at, m.CallRecord.id)
            < tuple_(literal(at, UtcDateTime()), key)
        )
    page = paginate(session, query, limit=limit, offset=offset, schema=CallSummary, counted=counted)
    if len(page.items) == limit:
        last = page.items[-1]
        page.next_cursor = encode_cursor(last.started_at, last.id, request.app.state.cursor_secret)
    return page


def _call(session: SessionDep, who: Principal, call_id: int) -> m.CallRecord:
    record = session.scalar(visible_to(select(m.CallRecord).where(m.CallRecord.id == call_id), who))
    if record is None:
        raise not_found("call", call_id)
    return record


@router.get("/{call_id}")
def get_call(call_id: IdPath, request: Request, session: SessionDep, who: AnyRoleDep) -> CallDetail:
    record = _call(session, who, call_id)
    promise = session.scalar(
        select(m.PromiseToPay).where(m.PromiseToPay.attempt_id == record.attempt_id)
    )
    summary = CallSummary.model_validate(record).model_dump()
    return CallDetail(
        **summary,
        disclosure=record.disclosure,
        phone_invalid=record.phone_invalid,
        callback_at=record.callback_at,
        dispute_reason=record.dispute_reason,
        paid_info=record.paid_info,
        final_state=record.final_state,
        transcript=[TurnOut.model_validate(t) for t in record.transcript],
        promise=PromiseOut.model_validate(promise) if promise else None,
        recording_url=(
            str(request.url_for("get_recording", call_id=call_id))
            if _playable(session, record) is not None
            else None
        ),
    )


# --- recordings (issue 19) -----------------------------------------------------------------

PLAYABLE = ("complete", "partial")


def _playable(session: SessionDep, record: m.CallRecord) -> m.Recording | None:
    # The latest try of the attempt (one that a dead worker interrupted comes before it).
    return session.scalar(
        select(m.Recording)
        .where(m.Recording.attempt_id == record.attempt_id, m.Recording.status.in_(PLAYABLE))
        .order_by(m.Recording.id.desc())
        .limit(1)
    )


def _store(request: Request) -> RecordingStore:
    store: RecordingStore | None = getattr(request.app.state, "recording_store", None)
    if store is None:
        from voicebot.wiring import recording_store

        store = request.app.state.recording_store = recording_store(request.app.state.settings)
    return store


@router.get("/{call_id}/recording/info")
def get_recording_info(
    call_id: IdPath, request: Request, session: SessionDep, who: AnyRoleDep
) -> RecordingInfo:
    """The recording's layout, hash, retention and each transcript turn's offset in it.

    Not a listen (no audio), so not audited; the same roles as the audio.
    """
    record = _call(session, who, call_id)
    recording = _playable(session, record)
    if recording is None:
        raise not_found("recording of call", call_id)
    return RecordingInfo(
        url=str(request.url_for("get_recording", call_id=call_id)),
        media_type=recording.media_type,
        channels=list(recording.channels),
        sample_rate=recording.sample_rate,
        status=recording.status,
        duration_ms=recording.duration_ms,
        size_bytes=recording.size_bytes,
        sha256=recording.sha256,
        notice=recording.notice,
        notice_rule=recording.notice_rule,
        retain_until=recording.retain_until,
        retention_rule=recording.retention_rule,
        timeline=[TimelineMark.model_validate(mark) for mark in recording.timeline],
    )


@router.get(
    "/{call_id}/recording",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"audio/flac": {}}, "description": "the whole two-channel FLAC"},
        206: {"content": {"audio/flac": {}}, "description": "the requested byte range"},
        416: {"description": "the range starts past the end of the file"},
    },
)
def get_recording(
    call_id: IdPath,
    request: Request,
    session: SessionDep,
    who: AnyRoleDep,
    range_: Annotated[str | None, Header(alias="Range")] = None,
) -> Response:
    """The call's recording (channel 1 the bot, 2 the far end), seekable with ``Range``.

    Agents hear only calls transferred to them. Every request is written to the audit
    log before a byte is sent, including each range a player fetches while seeking.
    """
    record = _call(session, who, call_id)
    recording = _playable(session, record)
    store = _store(request)
    size = store.size(recording.key) if recording is not None else None
    if recording is None or size is None:
        raise not_found("recording of call", call_id)
    try:
        span = byte_range(range_, size)
    except RangeNotSatisfiable as error:
        # RFC 9110 §15.5.17: say how long the file is, so the player can ask again.
        return error_response(
            416,
            "range_not_satisfiable",
            str(error),
            {"size": size},
            headers={"Content-Range": f"bytes */{size}"},
        )
    first, last = span if span is not None else (0, size - 1)
    append_audit(
        session,
        actor=who.name,
        action="recording_listened",
        debtor_id=recording.debtor_id,
        campaign_id=recording.campaign_id,
        attempt_id=recording.attempt_id,
        reason=f"{who.role} fetched bytes {first}-{last} of {size}",
        details={"recording_id": recording.id, "call_id": call_id, "role": who.role},
        at=datetime.now(UTC),
    )
    session.commit()
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Length": str(last - first + 1),
        "ETag": f'"{recording.sha256}"',
        "X-Recording-Status": recording.status,
    }
    if span is not None:
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    return StreamingResponse(
        store.read(recording.key, first, last),
        status_code=206 if span is not None else 200,
        media_type=recording.media_type,
        headers=headers,
    )
