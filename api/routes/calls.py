"""Finished calls: filtered lists and one call with its transcript, promise and recording."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from sqlalchemy import Select, literal, select, tuple_

from api.deps import AnyRoleDep, SessionDep
from api.errors import not_found
from api.fields import IdPath, IdQuery, MomentQuery, filter_text
from api.pagination import Limit, Offset, decode_cursor, encode_cursor, paginate
from api.schemas import CallDetail, CallSummary, Page, PromiseOut, TurnOut
from api.security import AGENT, Principal
from voicebot.storage import models as m
from voicebot.storage.models import UtcDateTime

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
            if record.recording_path
            else None
        ),
    )


@router.get("/{call_id}/recording", response_class=FileResponse)
def get_recording(call_id: IdPath, session: SessionDep, who: AnyRoleDep) -> FileResponse:
    record = _call(session, who, call_id)
    if not record.recording_path or not Path(record.recording_path).is_file():
        raise not_found("recording of call", call_id)
    return FileResponse(record.recording_path, media_type="audio/wav")
