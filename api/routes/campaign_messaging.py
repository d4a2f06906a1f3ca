"""A campaign's messaging policy over HTTP: the same checks as ``voicebot messages policy``.

``PUT`` replaces the whole policy (what is omitted takes its default), except the payment
link's secret: it is never shown (``***``), so a policy read, edited and written back keeps
the stored secret when ``link_secret`` is omitted or ``***``; ``""`` removes it. A policy
that ``read_policy`` refuses is a 422 naming the key, and nothing is stored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ManagerDep, ReaderDep, SessionDep
from api.errors import ApiError, not_found
from api.fields import IdPath
from voicebot.followups.broken_strategy import MAX_DELAY_HOURS
from voicebot.followups.policy import PolicyError, read_policy
from voicebot.storage import models as m
from voicebot.storage.repositories import append_audit

router = APIRouter(prefix="/campaigns", tags=["campaigns"])
HIDDEN = "***"


class BrokenPromiseStepBody(BaseModel):
    """After a broken promise, for one debtor segment."""

    model_config = ConfigDict(extra="forbid")
    first: Literal["call", "text"] = "call"
    call_after_hours: Annotated[int, Field(ge=0, le=MAX_DELAY_HOURS)] = 0
    priority: Annotated[int | None, Field(ge=-1000, le=1000)] = None


class MessagingPolicyBody(BaseModel):
    """A campaign's texts: channel, language, payment link, reminders, broken promises."""

    model_config = ConfigDict(extra="forbid")
    channel: Literal["", "sms", "whatsapp"] = ""
    language: Literal["es", "en"] = "es"
    link_template: Annotated[str, Field(max_length=500)] = ""
    link_secret: Annotated[str | None, Field(max_length=200)] = None
    link_days_after_due: Annotated[int, Field(ge=0, le=365)] = 3
    reminder: Literal["call", "message", "both", "none"] = "call"
    reminder_hour: Annotated[int, Field(ge=0, le=23)] = 10
    whatsapp_templates: dict[str, Any] = Field(default_factory=dict)
    after_broken: dict[str, BrokenPromiseStepBody] = Field(default_factory=dict)


def _campaign(session: SessionDep, campaign_id: int) -> m.Campaign:
    campaign = session.get(m.Campaign, campaign_id)
    if campaign is None:
        raise not_found("campaign", campaign_id)
    return campaign


def _shown(raw: dict[str, Any]) -> MessagingPolicyBody:
    shown = {k: (HIDDEN if k == "link_secret" and v else v) for k, v in raw.items()}
    return MessagingPolicyBody.model_validate(shown)


@router.get("/{campaign_id}/messaging")
def get_messaging(campaign_id: IdPath, session: SessionDep, _: ReaderDep) -> MessagingPolicyBody:
    """The campaign's messaging policy, every key with its value (the secret as ``***``)."""
    return _shown(dict(_campaign(session, campaign_id).messaging or {}))


@router.put("/{campaign_id}/messaging", responses={404: {}, 422: {}})
def put_messaging(
    campaign_id: IdPath, body: MessagingPolicyBody, session: SessionDep, who: ManagerDep
) -> MessagingPolicyBody:
    """Replace the policy, checked as the CLI checks it; the secret kept unless given."""
    campaign = _campaign(session, campaign_id)
    stored = dict(campaign.messaging or {})
    raw = body.model_dump(exclude={"link_secret", "after_broken"})
    raw["after_broken"] = {
        segment: step.model_dump(exclude_none=True) for segment, step in body.after_broken.items()
    }
    if body.link_secret is None or body.link_secret == HIDDEN:
        if stored.get("link_secret"):
            raw["link_secret"] = stored["link_secret"]
    elif body.link_secret:
        raw["link_secret"] = body.link_secret
    try:
        read_policy(raw)
    except PolicyError as exc:
        raise ApiError(422, "invalid_messaging_policy", str(exc)) from exc
    campaign.messaging = raw
    append_audit(
        session,
        actor=who.name,
        action="messaging_policy_changed",
        campaign_id=campaign.id,
        details={k: v for k, v in raw.items() if k != "link_secret"},
    )
    session.commit()
    return _shown(raw)
