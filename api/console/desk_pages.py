"""The agent desk: availability, the warm-transfer pop, accept, and the result form.

The pop shows the oldest waiting transfer to an available agent (the queue every agent
key may list through the API); once accepted a transfer is that agent's alone, and its
page answers 404 to anyone else, as ``GET /transfers/{id}`` does.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.console.i18n import translate
from api.console.web import PREFIX, ConsoleUser, console_user, fragment, not_found, render
from api.security import AGENT
from api.status_cache import StatusCache
from voicebot.campaigns import agent_results
from voicebot.domain.outcome import DISPOSITION_MEANINGS
from voicebot.storage import models as m
from voicebot.storage import transfers as desk
from voicebot.storage.models import utc_now

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Agent = Annotated[ConsoleUser, Depends(console_user(AGENT))]
QUEUE = 0  # the cache key of the shared waiting queue


def _pop(s: Session, transfer: m.TransferRequest) -> dict[str, Any]:
    """Plain data (the session closes before rendering): debtor, debts, turns, context."""
    pop = desk.screen_pop(s, transfer)
    return {
        "transfer": {"id": transfer.id, "reason": transfer.reason, "agent": transfer.agent},
        "debtor": {"full_name": pop.debtor.full_name, "document_id": pop.debtor.document_id},
        "debts": [
            {
                "amount": d.amount,
                "currency": d.currency,
                "creditor": d.creditor,
                "days_past_due": d.days_past_due,
            }
            for d in pop.open_debts
        ],
        "turns": pop.turns,
        "verified": bool(pop.context.get("verified")),
        "context": {
            "summary": pop.context.get("summary", ""),
            "promise_attempts": pop.context.get("promise_attempts", []),
        },
    }


def _oldest_waiting(request: Request) -> dict[str, Any]:
    cache: StatusCache = request.app.state.console_queue

    def compute() -> dict[str, Any]:
        with request.app.state.sessions() as s:
            oldest = s.scalars(desk.transfer_queue("waiting").limit(1)).first()
            return {"pop": _pop(s, oldest) if oldest is not None else None}

    return cache.get(QUEUE, compute)


def desk_fragment(request: Request, user: ConsoleUser) -> str:
    with request.app.state.sessions() as s:
        agent = desk.agent_named(s, user.principal.agent_name)
        status = agent.status if agent is not None else "offline"
        mine = [
            {"id": t.id, "reason": t.reason}
            for t in s.scalars(
                select(m.TransferRequest)
                .where(
                    m.TransferRequest.agent == user.principal.agent_name,
                    m.TransferRequest.status == "accepted",
                    m.TransferRequest.id.not_in(select(m.AgentResult.transfer_id)),
                )
                .order_by(m.TransferRequest.id)
            )
        ]
    pop = _oldest_waiting(request)["pop"] if status == "available" else None
    return fragment(
        "_desk.html",
        language=user.language,
        agent={"status": status},
        pop=pop,
        turns=pop["turns"] if pop else [],
        mine=mine,
        csrf=user.csrf,
    )


def _local_zone(user: ConsoleUser) -> timezone:
    """The agent's zone as its browser reported it at sign-in (UTC without script)."""
    return timezone(timedelta(minutes=user.session.offset_minutes))


@router.get("/desk")
def desk_page(request: Request, user: Agent) -> HTMLResponse:
    zone = _local_zone(user)
    start = datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    with request.app.state.sessions() as s:
        due = agent_results.callbacks_due(
            s, agent=user.principal.agent_name or "", start=start, end=start + timedelta(days=1)
        )
        callbacks = [
            {
                "at": r.callback_at.astimezone(zone).strftime("%H:%M") if r.callback_at else "",
                "transfer_id": r.transfer_id,
                "notes": r.notes,
                "debtor": s.get_one(
                    m.Debtor, s.get_one(m.TransferRequest, r.transfer_id).debtor_id
                ).full_name,
            }
            for r in due
        ]
    return render(
        request,
        "desk.html",
        language=user.language,
        user=user,
        desk_html=desk_fragment(request, user),
        callbacks=callbacks,
    )


@router.post("/desk/status")
async def set_status(request: Request, user: Agent) -> Response:
    form = await request.form()
    status = str(form.get("status") or "")
    if status in ("available", "offline"):
        with request.app.state.sessions() as s:
            agent = desk.agent_named(s, user.principal.agent_name)
            if agent is not None:
                desk.set_agent_status(s, agent, status, actor=user.principal.name, at=utc_now())
                s.commit()
    return RedirectResponse(f"{PREFIX}/desk", 303)


@router.post("/desk/transfers/{transfer_id}/accept")
def accept(request: Request, transfer_id: int, user: Agent) -> Response:
    with request.app.state.sessions() as s:
        transfer, won = desk.accept_transfer(
            s,
            transfer_id=transfer_id,
            agent_name=user.principal.agent_name,
            actor=user.principal.name,
            at=utc_now(),
        )
        s.commit()
    request.app.state.console_queue.forget(QUEUE)
    if transfer is None or not won:
        return render(
            request,
            "desk.html",
            language=user.language,
            user=user,
            status_code=409,
            flash=translate(user.language, "desk.lost"),
            desk_html=desk_fragment(request, user),
        )
    return RedirectResponse(f"{PREFIX}/desk/transfers/{transfer_id}", 303)


def _transfer_page(
    request: Request,
    user: ConsoleUser,
    transfer_id: int,
    *,
    form: dict[str, str] | None = None,
    error: agent_results.ResultError | None = None,
    status_code: int = 200,
) -> Response:
    with request.app.state.sessions() as s:
        transfer = desk.find_transfer(s, transfer_id)
        if transfer is None or transfer.agent != user.principal.agent_name:
            return not_found(request, user)
        pop = _pop(s, transfer)
        result = s.scalar(select(m.AgentResult).where(m.AgentResult.transfer_id == transfer_id))
        return render(
            request,
            "transfer.html",
            language=user.language,
            user=user,
            pop=pop,
            turns=pop["turns"],
            result=result,
            error=error,
            status_code=status_code,
            form=form
            or {"disposition": "PTP", "amount": "", "due_date": "", "notes": "", "callback_at": ""},
            dispositions=agent_results.AGENT_DISPOSITIONS,
            meanings=DISPOSITION_MEANINGS,
        )


@router.get("/desk/transfers/{transfer_id}")
def transfer_page(request: Request, transfer_id: int, user: Agent) -> Response:
    return _transfer_page(request, user, transfer_id)


@router.post("/desk/transfers/{transfer_id}/result")
async def record_result(request: Request, transfer_id: int, user: Agent) -> Response:
    raw = await request.form()
    fields = ("disposition", "amount", "due_date", "notes", "callback_at")
    form = {k: str(raw.get(k) or "") for k in fields}
    with request.app.state.sessions() as s:
        transfer = desk.find_transfer(s, transfer_id)
        if transfer is None or transfer.agent != user.principal.agent_name:
            return _transfer_page(request, user, transfer_id)
        attempt = s.get_one(m.CallAttempt, transfer.attempt_id)
        campaign = s.get_one(m.Campaign, attempt.campaign_id)
        max_days = int((campaign.limits or {}).get("max_days_ahead", 30))
        try:
            zone = _local_zone(user)
            moment = form["callback_at"]
            if moment and "+" not in moment[10:] and not moment.endswith("Z"):
                moment += datetime.now(zone).strftime("%z")  # datetime-local: the agent's zone
            result = agent_results.validate(
                form["disposition"],
                form["amount"],
                form["due_date"],
                form["notes"],
                today=datetime.now(zone).date(),
                max_days_ahead=max_days,
                callback_at=moment,
                now=datetime.now(zone),
            )
            agent_results.record(
                s, transfer=transfer, result=result, actor=user.principal.name, at=utc_now()
            )
            agent = desk.agent_named(s, user.principal.agent_name)
            if agent is not None:  # the call is over: ready for the next transfer
                desk.set_agent_status(
                    s, agent, "available", actor=user.principal.name, at=utc_now()
                )
            s.commit()
        except agent_results.ResultError as exc:
            s.rollback()
            return _transfer_page(request, user, transfer_id, form=form, error=exc, status_code=422)
        request.app.state.status_cache.forget(campaign.id)
    return RedirectResponse(f"{PREFIX}/desk/transfers/{transfer_id}", 303)
