"""Agents and warm transfers: availability, the waiting queue, taking a call with its context."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends

from api.deps import AdminDep, AgentDep, SessionDep, require
from api.errors import ApiError, not_found
from api.fields import IdPath
from api.pagination import Limit, Offset, paginate
from api.schemas import (
    AgentCreate,
    AgentCreated,
    AgentOut,
    AgentStatusIn,
    DebtorOut,
    DebtOut,
    Page,
    TransferContextOut,
    TransferOut,
    TurnOut,
)
from api.security import (
    ADMIN,
    AGENT,
    AUDITOR,
    MANAGER,
    Principal,
    create_api_key,
)
from voicebot.storage import models as m
from voicebot.storage import transfers as desk
from voicebot.storage.models import utc_now

router = APIRouter(tags=["agents"])

FloorDep = Annotated[Principal, Depends(require(ADMIN, MANAGER, AGENT, AUDITOR))]
SupervisorDep = Annotated[Principal, Depends(require(ADMIN, MANAGER))]


@router.post("/agents", status_code=201)
def create_agent(body: AgentCreate, session: SessionDep, who: AdminDep) -> AgentCreated:
    """An agent and its own API key (role agent), so the calls it may see follow the key."""
    taken = desk.name_in_use(session, body.name)
    if taken is not None:
        raise ApiError(409, "conflict", f"an {taken} named {body.name!r} already exists")
    key_row, key = create_api_key(
        session, name=body.name, role=AGENT, actor=who.name, now=utc_now()
    )
    agent = m.Agent(name=body.name, sip_uri=body.sip_uri, api_key_id=key_row.id)
    session.add(agent)
    session.flush()
    created = AgentCreated(**AgentOut.model_validate(agent).model_dump(), key=key)
    session.commit()  # only once the answer exists: a failing answer must not leave a row
    return created


@router.get("/agents")
def list_agents(
    session: SessionDep,
    _: FloorDep,
    status: Literal["available", "busy", "offline"] | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[AgentOut]:
    return paginate(session, desk.agents(status), limit=limit, offset=offset, schema=AgentOut)


def _set_status(session: SessionDep, agent: m.Agent, status: str, actor: str) -> AgentOut:
    desk.set_agent_status(session, agent, status, actor=actor, at=utc_now())
    session.flush()
    answer = AgentOut.model_validate(agent)
    session.commit()
    return answer


@router.put("/agents/me/status")
def set_my_status(body: AgentStatusIn, session: SessionDep, who: AgentDep) -> AgentOut:
    agent = desk.agent_named(session, who.agent_name)
    if agent is None:
        raise not_found("agent", who.agent_name)
    return _set_status(session, agent, body.status, who.name)


@router.put("/agents/{agent_id}/status")
def set_status(
    agent_id: IdPath, body: AgentStatusIn, session: SessionDep, who: SupervisorDep
) -> AgentOut:
    agent = desk.find_agent(session, agent_id)
    if agent is None:
        raise not_found("agent", agent_id)
    return _set_status(session, agent, body.status, who.name)


@router.get("/transfers")
def list_transfers(
    session: SessionDep,
    who: FloorDep,
    status: Literal["waiting", "accepted", "failed"] | None = "waiting",
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[TransferOut]:
    """The queue (``waiting``, oldest first); an agent sees waiting ones and its own."""
    query = desk.transfer_queue(status, agent_view=who.role == AGENT, agent_name=who.agent_name)
    page = paginate(session, query, limit=limit, offset=offset, schema=TransferOut)
    rows = [session.get_one(m.TransferRequest, item.id) for item in page.items]
    page.items = _standing(session, rows)
    return page


def _standing(session: SessionDep, rows: list[m.TransferRequest]) -> list[TransferOut]:
    """Each transfer with its place in the queue and its wait, as the agents see them."""
    standings = desk.queue_standings(session, rows, now=utc_now())
    return [
        TransferOut.model_validate(row).model_copy(
            update={
                "queue_position": standings[row.id].position,
                "wait_seconds": standings[row.id].wait_seconds,
            }
        )
        for row in rows
    ]


def _context(session: SessionDep, transfer: m.TransferRequest) -> TransferContextOut:
    pop = desk.screen_pop(session, transfer)
    return TransferContextOut(
        transfer=_standing(session, [transfer])[0],
        debtor=DebtorOut.model_validate(pop.debtor),
        debts=[DebtOut.model_validate(d) for d in pop.open_debts],
        transcript=[TurnOut.model_validate(t) for t in pop.turns],
        context=pop.context,
    )


@router.post("/transfers/{transfer_id}/accept", responses={404: {}, 409: {}})
def accept_transfer(transfer_id: IdPath, session: SessionDep, who: AgentDep) -> TransferContextOut:
    """Take a waiting transfer (one agent wins a race) and get the screen pop."""
    transfer, won = desk.accept_transfer(
        session, transfer_id=transfer_id, agent_name=who.agent_name, actor=who.name, at=utc_now()
    )
    if transfer is None:
        raise not_found("transfer", transfer_id)
    if not won:
        raise ApiError(409, "invalid_state", f"transfer {transfer_id} is {transfer.status}")
    answer = _context(session, transfer)
    session.commit()
    return answer


@router.get("/transfers/{transfer_id}")
def get_transfer(transfer_id: IdPath, session: SessionDep, who: FloorDep) -> TransferContextOut:
    transfer = desk.find_transfer(session, transfer_id)
    if transfer is None or (who.role == AGENT and transfer.agent != who.agent_name):
        raise not_found("transfer", transfer_id)
    return _context(session, transfer)
