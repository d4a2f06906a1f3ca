"""The facts compliance judges a dial on, read from the store: as they are now, or were then.

``gather`` is what the dialer asks immediately before a dial; the audit replay asks the
same question for a past instant (``as_of``), so an opt-out or a dispute recorded after a
dial does not make that dial look unlawful. History is every contact the debtor had: this
service's dials and the contacts recorded from elsewhere (agents, SMS, other systems).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from voicebot.campaigns.compliance import DialFacts, PastAttempt, jurisdictions_for, past_contact
from voicebot.domain.outcome import Disposition
from voicebot.storage import models as m

# A human picked up (even to hang up at once: DROP) or a voicemail message was left.
CONTACTS = frozenset({d.value for d in Disposition if d.is_human_contact} | {"VM"})


def contact_history(
    s: Session,
    debtor_id: int,
    *,
    exclude_attempt: int | None = None,
    before: datetime | None = None,
) -> list[PastAttempt]:
    """Every dial of this service and every contact recorded from elsewhere, oldest first."""
    dials = (
        select(
            m.CallAttempt.started_at,
            m.CallAttempt.disposition,
            m.CallRecord.right_party,
            m.Phone.e164,
            m.CallAttempt.direction,
        )
        .outerjoin(m.CallRecord, m.CallRecord.attempt_id == m.CallAttempt.id)
        .outerjoin(m.Phone, m.Phone.id == m.CallAttempt.phone_id)
    )
    dials = dials.where(m.CallAttempt.debtor_id == debtor_id, m.CallAttempt.started_at.is_not(None))
    if exclude_attempt is not None:
        dials = dials.where(m.CallAttempt.id != exclude_attempt)
    history = [
        # A dial with no result yet (killed mid-call, or its result still in a worker's
        # journal) is read strictly: it may have been a conversation, so it counts as one.
        PastAttempt(
            at=started,
            contact=disposition is None or disposition in CONTACTS,
            conversation=disposition is None or bool(right_party),
            phone=e164,
            debtor_initiated=direction == "inbound",
        )
        for started, disposition, right_party, e164, direction in s.execute(dials)
        if started is not None
    ]
    outside = s.scalars(select(m.OutsideContact).where(m.OutsideContact.debtor_id == debtor_id))
    history += [
        past_contact(c.at, c.channel, c.result, artificial_voice=c.artificial_voice, phone=c.phone)
        for c in outside
    ]
    history += message_history(s, debtor_id)
    if before is not None:
        history = [p for p in history if p.at < before]
    return sorted(history, key=lambda p: p.at)


# A text counts as a contact unless the network refused it; one whose fate is unknown
# (``claimed``, ``unknown``) may have reached the debtor, so it counts (the strict reading).
MESSAGE_CONTACTS = (
    "claimed",
    "unknown",
    "accepted",
    "scheduled",
    "queued",
    "sending",
    "sent",
    "delivered",
    "read",
)


def message_history(s: Session, debtor_id: int) -> list[PastAttempt]:
    """The texts this service sent the debtor, as the caps count them."""
    sent = select(m.Message.sent_at, m.Message.channel, m.Message.to).where(
        m.Message.debtor_id == debtor_id,
        m.Message.sent_at.is_not(None),
        m.Message.status.in_(MESSAGE_CONTACTS),
    )
    return [
        past_contact(at, channel, "answered", phone=to)
        for at, channel, to in s.execute(sent)
        if at is not None
    ]


def opt_out_query(debtor_id: int, e164: str, channel: str) -> Select[int]:
    """An opt-out of every channel, or of this channel, on every number or on this very one."""
    return select(m.OptOut.id).where(
        m.OptOut.debtor_id == debtor_id,
        or_(m.OptOut.phone.is_(None), m.OptOut.phone == e164),
        or_(m.OptOut.channel.is_(None), m.OptOut.channel == channel),
    )


def gather(
    s: Session, attempt: m.CallAttempt, *, as_of: datetime | None = None
) -> tuple[DialFacts, list[PastAttempt]]:
    """The facts and history of one dial; ``as_of`` replays them as they stood at that instant."""
    phone = s.get(m.Phone, attempt.phone_id) if attempt.phone_id else None
    facts = _facts(
        s,
        s.get_one(m.Debtor, attempt.debtor_id),
        s.get_one(m.Campaign, attempt.campaign_id),
        phone,
        phone.e164 if phone else "",
        "voice",
        as_of,
    )
    return facts, contact_history(s, attempt.debtor_id, exclude_attempt=attempt.id, before=as_of)


def _facts(
    s: Session,
    debtor: m.Debtor,
    campaign: m.Campaign,
    phone: m.Phone | None,
    e164: str,
    channel: str,
    as_of: datetime | None,
) -> DialFacts:
    """What the rules are told about one contact through ``channel`` to ``e164``: the same
    facts for a dial and a text, so the two are judged alike."""
    # An opt-out of every channel, or of this one; of every number, or of this very one.
    opt_outs = opt_out_query(debtor.id, e164, channel)
    if as_of is not None:
        opt_outs = opt_outs.where(m.OptOut.created_at < as_of)
    statuses = set(s.scalars(select(m.Debt.status).where(m.Debt.debtor_id == debtor.id)))
    disputed = "disputed" in statuses and "active" not in statuses
    # A number not on the debtor's record is nobody we may call or text.
    phone_invalid = phone is None or phone.status != "valid"
    if as_of is not None:
        disputed = disputed and _settled_before(s, debtor.id, as_of, dispute=True)
        phone_invalid = phone is None or (
            phone_invalid and _settled_before(s, debtor.id, as_of, dispute=False, phone=phone.id)
        )
    channels = debtor.authorized_channels
    return DialFacts(
        jurisdictions=jurisdictions_for(
            campaign.jurisdiction, debtor.region, debtor.subdivision, e164
        ),
        phone_e164=e164,
        timezone=debtor.timezone,
        phone_kind=phone.kind if phone else "unknown",
        opted_out=s.scalar(opt_outs.limit(1)) is not None,
        disputed=disputed,
        phone_invalid=phone_invalid,
        tcpa_consent=debtor.tcpa_consent,
        subdivision=debtor.subdivision or None,
        authorized_channels=tuple(str(c) for c in channels) if channels is not None else None,
        channel=channel,
    )


def _settled_before(
    s: Session, debtor_id: int, as_of: datetime, *, dispute: bool, phone: int | None = None
) -> bool:
    """Whether a dispute (or a wrong-number mark) that stands today already stood at ``as_of``.

    A call that recorded it ends at a known time; a status that came with the portfolio
    (no such call) is taken as having always been there.
    """
    query = (
        select(m.CallRecord.ended_at)
        .join(m.CallAttempt, m.CallAttempt.id == m.CallRecord.attempt_id)
        .where(m.CallRecord.debtor_id == debtor_id)
    )
    if dispute:
        query = query.where(m.CallRecord.disposition == Disposition.DISP.value)
    else:
        query = query.where(m.CallRecord.phone_invalid.is_(True), m.CallAttempt.phone_id == phone)
    ends = list(s.scalars(query))
    return not ends or min(ends) < as_of


def text_facts(
    s: Session, message: m.Message, *, as_of: datetime | None = None
) -> tuple[DialFacts, list[PastAttempt]]:
    """The facts and history of one text, now (the sender) or at ``as_of`` (the audit replay).

    The channel is one of the facts, so the rules that name texts apply; the text itself is
    never in its own history (``as_of`` is its send time and history is strictly before).
    """
    debtor = s.get_one(m.Debtor, message.debtor_id)
    phone = s.scalar(
        select(m.Phone).where(m.Phone.debtor_id == debtor.id, m.Phone.e164 == message.to)
    )
    campaign = s.get_one(m.Campaign, message.campaign_id)
    facts = _facts(s, debtor, campaign, phone, message.to, message.channel, as_of)
    return facts, contact_history(s, debtor.id, before=as_of)
