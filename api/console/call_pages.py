"""Calls: a searchable list and one call's page, with the API's visibility rule.

Searches are POSTed (never query strings) so a debtor's name or phone never lands in
a URL, a browser history or an access log.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import or_, select

from api.console.web import PREFIX, ConsoleUser, console_user, not_found, render
from api.errors import ApiError
from api.routes.calls import get_recording, visible_to
from api.security import ADMIN, AGENT, AUDITOR, MANAGER
from voicebot.domain.outcome import Disposition
from voicebot.storage import models as m

router = APIRouter(prefix=PREFIX, include_in_schema=False)
AnyUser = Annotated[ConsoleUser, Depends(console_user(ADMIN, MANAGER, AGENT, AUDITOR))]
PAGE = 100
FIELDS = ("debtor", "phone", "disposition", "date")


def _calls(request: Request, user: ConsoleUser, form: dict[str, str]) -> list[dict[str, Any]]:
    query: Any = (
        select(m.CallRecord, m.Debtor.full_name, m.Campaign.name, m.AgentResult.disposition)
        .join(m.Debtor, m.Debtor.id == m.CallRecord.debtor_id)
        .join(m.Campaign, m.Campaign.id == m.CallRecord.campaign_id)
        .outerjoin(m.TransferRequest, m.TransferRequest.attempt_id == m.CallRecord.attempt_id)
        .outerjoin(m.AgentResult, m.AgentResult.transfer_id == m.TransferRequest.id)
        .order_by(m.CallRecord.started_at.desc(), m.CallRecord.id.desc())
        .limit(PAGE)
    )
    query = visible_to(query, user.principal)
    if form["debtor"]:
        like = f"%{form['debtor'][:120]}%"
        query = query.where(
            or_(m.Debtor.full_name.ilike(like), m.Debtor.document_id == form["debtor"])
        )
    if form["phone"]:
        digits = "".join(ch for ch in form["phone"] if ch.isdigit())[-10:]
        phones = select(m.Phone.debtor_id).where(m.Phone.e164.like(f"%{digits}"))
        query = query.where(m.CallRecord.debtor_id.in_(phones))
    if form["disposition"] in Disposition.__members__:
        query = query.where(m.CallRecord.disposition == form["disposition"])
    if form["date"]:
        try:
            day = datetime.combine(date.fromisoformat(form["date"]), datetime.min.time(), UTC)
        except ValueError:
            day = None
        if day is not None:
            query = query.where(
                m.CallRecord.started_at >= day, m.CallRecord.started_at < day + timedelta(days=1)
            )
    with request.app.state.sessions() as s:
        return [
            {
                "id": record.id,
                "started_at": record.started_at,
                "campaign": campaign,
                "debtor": name,
                "disposition": record.disposition,
                "agent_result": result,
            }
            for record, name, campaign, result in s.execute(query)
        ]


def _list(request: Request, user: ConsoleUser, form: dict[str, str]) -> HTMLResponse:
    return render(
        request,
        "calls.html",
        language=user.language,
        user=user,
        form=form,
        calls=_calls(request, user, form),
        dispositions=list(Disposition),
    )


@router.get("/calls")
def calls(request: Request, user: AnyUser) -> HTMLResponse:
    return _list(request, user, dict.fromkeys(FIELDS, ""))


@router.post("/calls")
async def search(request: Request, user: AnyUser) -> HTMLResponse:
    raw = await request.form()
    return _list(request, user, {k: str(raw.get(k) or "").strip() for k in FIELDS})


@router.get("/calls/{call_id}/recording")
def recording(request: Request, call_id: int, user: AnyUser) -> Response:
    """The API's own recording route (visibility, Range, the audit of every fetch)."""
    with request.app.state.sessions() as s:
        try:
            return get_recording(call_id, request, s, user.principal, request.headers.get("Range"))
        except ApiError:
            return not_found(request, user)


@router.get("/calls/{call_id}")
def call_page(request: Request, call_id: int, user: AnyUser) -> Response:
    with request.app.state.sessions() as s:
        record = s.scalar(
            visible_to(select(m.CallRecord).where(m.CallRecord.id == call_id), user.principal)
        )
        if record is None:
            return not_found(request, user)
        audit = s.scalars(
            select(m.AuditEntry)
            .where(m.AuditEntry.attempt_id == record.attempt_id)
            .order_by(m.AuditEntry.at, m.AuditEntry.id)
        ).all()
        result = s.scalar(
            select(m.AgentResult)
            .join(m.TransferRequest, m.TransferRequest.id == m.AgentResult.transfer_id)
            .where(m.TransferRequest.attempt_id == record.attempt_id)
        )
        return render(
            request,
            "call.html",
            language=user.language,
            user=user,
            call=record,
            debtor=s.get_one(m.Debtor, record.debtor_id),
            audit=audit,
            agent_result=result,
            turns=[t for t in record.transcript if isinstance(t, dict)],
            promises=s.scalars(
                select(m.PromiseToPay).where(m.PromiseToPay.attempt_id == record.attempt_id)
            ).all(),
            recording=s.scalar(
                select(m.Recording).where(m.Recording.attempt_id == record.attempt_id)
            ),
        )
