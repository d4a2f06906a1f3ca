"""Debtors: their history (attempts, promises, opt-outs) and the opt-out a creditor reports."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import select

from api.deps import ReaderDep, SessionDep, require
from api.errors import ApiError, not_found
from api.fields import IdPath, IdQuery, filter_text
from api.pagination import Limit, Offset, paginate
from api.schemas import (
    AttemptOut,
    DebtorHistory,
    DebtorOut,
    DebtOut,
    InboundMessageOut,
    MessageOut,
    MessageStatusOut,
    OptOutIn,
    OptOutOut,
    OutsideContactBody,
    OutsideContactOut,
    Page,
    PhoneOut,
    PromiseOut,
)
from api.security import ADMIN, AGENT, MANAGER, Principal
from voicebot.campaigns import outside_contacts
from voicebot.storage import models as m
from voicebot.storage.repositories import record_opt_out

router = APIRouter(prefix="/debtors", tags=["debtors"])

# An agent on the phone hears "no me llamen más" too, so agents may record opt-outs.
OptOutRoles = Annotated[Principal, Depends(require(ADMIN, MANAGER, AGENT))]


@router.get("")
def list_debtors(
    session: SessionDep,
    _: ReaderDep,
    segment: Annotated[str | None, filter_text(40)] = None,
    external_id: Annotated[str | None, filter_text(64)] = None,
    campaign_id: IdQuery = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[DebtorOut]:
    query = select(m.Debtor).order_by(m.Debtor.id)
    if segment is not None:
        query = query.where(m.Debtor.segment == segment)
    if external_id is not None:
        query = query.where(m.Debtor.external_id == external_id)
    if campaign_id is not None:
        query = query.join(m.CampaignDebtor, m.CampaignDebtor.debtor_id == m.Debtor.id).where(
            m.CampaignDebtor.campaign_id == campaign_id
        )
    return paginate(session, query, limit=limit, offset=offset, schema=DebtorOut)


@router.get("/{debtor_id}")
def debtor_history(debtor_id: IdPath, session: SessionDep, _: ReaderDep) -> DebtorHistory:
    debtor = session.get(m.Debtor, debtor_id)
    if debtor is None:
        raise not_found("debtor", debtor_id)
    attempts = session.scalars(
        select(m.CallAttempt).where(m.CallAttempt.debtor_id == debtor_id).order_by(m.CallAttempt.id)
    )
    promises = session.scalars(
        select(m.PromiseToPay)
        .where(m.PromiseToPay.debtor_id == debtor_id)
        .order_by(m.PromiseToPay.id)
    )
    opt_outs = session.scalars(
        select(m.OptOut).where(m.OptOut.debtor_id == debtor_id).order_by(m.OptOut.id)
    )
    return DebtorHistory(
        debtor=DebtorOut.model_validate(debtor),
        phones=[PhoneOut.model_validate(p) for p in debtor.phones],
        debts=[DebtOut.model_validate(d) for d in debtor.debts],
        attempts=[AttemptOut.model_validate(a) for a in attempts],
        promises=[PromiseOut.model_validate(p) for p in promises],
        opt_outs=[OptOutOut.model_validate(o) for o in opt_outs],
        messages=_messages(session, debtor_id),
        inbound_messages=[
            InboundMessageOut.model_validate(i)
            for i in session.scalars(
                select(m.InboundMessage)
                .where(m.InboundMessage.debtor_id == debtor_id)
                .order_by(m.InboundMessage.id)
            )
        ],
    )


def _messages(session: SessionDep, debtor_id: int) -> list[MessageOut]:
    rows = list(
        session.scalars(
            select(m.Message).where(m.Message.debtor_id == debtor_id).order_by(m.Message.id)
        )
    )
    events: dict[int, list[MessageStatusOut]] = {row.id: [] for row in rows}
    for event in session.scalars(
        select(m.MessageStatusEvent)
        .where(m.MessageStatusEvent.message_id.in_(events))
        .order_by(m.MessageStatusEvent.id)
    ):
        events[event.message_id].append(MessageStatusOut.model_validate(event))
    return [
        MessageOut.model_validate(row).model_copy(update={"statuses": events[row.id]})
        for row in rows
    ]


@router.post("/{debtor_id}/opt-out", status_code=201)
def opt_out(debtor_id: IdPath, body: OptOutIn, session: SessionDep, who: OptOutRoles) -> OptOutOut:
    """Block every future dial (or one number): audited and sent to the creditor's webhook.

    An agent may do it only for a debtor of a transfer it took (it heard the request);
    any other id answers 404, as a missing one does, so agents cannot probe ids.
    """
    debtor = session.get(m.Debtor, debtor_id)
    if debtor is None or (who.role == AGENT and not _took_transfer_of(session, who, debtor_id)):
        raise not_found("debtor", debtor_id)
    phone = None
    if body.phone is not None:
        phone = _debtors_number(debtor, body.phone)
        if phone is None:
            raise ApiError(422, "unknown_phone", "the phone is not one of this debtor's numbers")
    row = record_opt_out(
        session, debtor_id=debtor_id, source="api", actor=who.name, reason=body.reason, phone=phone
    )
    answer = OptOutOut.model_validate(row)
    session.commit()
    return answer


def _took_transfer_of(session: SessionDep, who: Principal, debtor_id: int) -> bool:
    taken = select(m.TransferRequest.id).where(
        m.TransferRequest.debtor_id == debtor_id, m.TransferRequest.agent == who.agent_name
    )
    return session.scalar(taken.limit(1)) is not None


def _debtors_number(debtor: m.Debtor, phone: str) -> str | None:
    """The stored E.164 form of ``phone`` if it is one of the debtor's numbers (digits compared,
    so "+57 310 123 4567" and "573101234567" name the same line)."""
    digits = re.sub(r"\D", "", phone)
    for known in debtor.phones:
        stored = re.sub(r"\D", "", known.e164)
        if digits and (digits == stored or (len(digits) >= 7 and stored.endswith(digits))):
            return known.e164
    return None


@router.post("/{debtor_id}/contacts", status_code=201, responses={404: {}, 422: {}})
def record_outside_contact(
    debtor_id: int, body: OutsideContactBody, session: SessionDep, who: OptOutRoles
) -> OutsideContactOut:
    """Record a contact made elsewhere (agent, SMS, visit…); the same one twice is stored once."""
    if session.get(m.Debtor, debtor_id) is None:
        raise not_found("debtor", debtor_id)
    try:
        contact = outside_contacts.validate(
            body.at, body.channel, body.result, body.source, body.phone
        )
    except ValueError as exc:
        raise ApiError(422, "validation_error", str(exc)) from exc
    contact = outside_contacts.OutsideContactIn(
        contact.at,
        contact.channel,
        contact.result,
        contact.source,
        contact.phone,
        body.artificial_voice,
    )
    row, _ = outside_contacts.record(session, debtor_id=debtor_id, contact=contact, actor=who.name)
    session.commit()
    return OutsideContactOut.model_validate(row)
