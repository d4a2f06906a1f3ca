"""Campaigns: create with a validated dialplan, change state, watch status and KPIs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from sqlalchemy import select

from api.deps import ManagerDep, ReaderDep, SessionDep, SettingsDep
from api.dialplans import resolve_dialplan
from api.errors import ApiError, not_found
from api.fields import IdPath, filter_text
from api.pagination import Limit, Offset, paginate
from api.schemas import CampaignChange, CampaignCreate, CampaignOut, Page
from api.status_cache import StatusCache
from voicebot.campaigns import lifecycle
from voicebot.campaigns.compliance_audit import audit_campaign
from voicebot.campaigns.status import campaign_status
from voicebot.storage import models as m
from voicebot.storage.models import utc_now
from voicebot.storage.repositories import append_audit

router = APIRouter(prefix="/campaigns", tags=["campaigns"])


@router.post("", status_code=201, responses={409: {}, 422: {}})
def create_campaign(
    body: CampaignCreate, session: SessionDep, settings: SettingsDep, who: ManagerDep
) -> CampaignOut:
    name, _ = resolve_dialplan(settings, body.dialplan)
    if session.scalar(select(m.Campaign.id).where(m.Campaign.name == body.name)) is not None:
        raise ApiError(409, "conflict", f"a campaign named {body.name!r} already exists")
    campaign = m.Campaign(
        **body.model_dump(exclude={"dialplan", "limits", "default_region"}),
        dialplan=name,
        default_region=body.default_region.upper(),
        limits=body.limits.model_dump(mode="json"),
    )
    session.add(campaign)
    session.flush()
    append_audit(
        session, actor=who.name, action="campaign_created", campaign_id=campaign.id, reason=name
    )
    session.flush()
    created = CampaignOut.model_validate(campaign)
    session.commit()  # only once the answer exists: a row that cannot be read must not stay
    return created


@router.get("")
def list_campaigns(
    session: SessionDep,
    _: ReaderDep,
    status: Annotated[str | None, filter_text(16)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[CampaignOut]:
    query = select(m.Campaign).order_by(m.Campaign.id)
    if status:
        query = query.where(m.Campaign.status == status)
    return paginate(session, query, limit=limit, offset=offset, schema=CampaignOut)


def _campaign(session: SessionDep, campaign_id: int) -> m.Campaign:
    campaign = session.get(m.Campaign, campaign_id)
    if campaign is None:
        raise not_found("campaign", campaign_id)
    return campaign


@router.get("/{campaign_id}")
def get_campaign(campaign_id: IdPath, session: SessionDep, _: ReaderDep) -> CampaignOut:
    return CampaignOut.model_validate(_campaign(session, campaign_id))


@router.get("/{campaign_id}/status")
def get_status(
    campaign_id: IdPath, request: Request, session: SessionDep, _: ReaderDep
) -> dict[str, Any]:
    """Attempts by state, KPIs overall and per debtor segment, compliance refusals by rule.

    At most ``api.status_cache_seconds`` old (see ``as_of``).
    """
    _campaign(session, campaign_id)
    cache: StatusCache = request.app.state.status_cache
    return cache.get(campaign_id, lambda: campaign_status(session, campaign_id=campaign_id))


@router.get("/{campaign_id}/compliance")
def get_compliance(
    campaign_id: int, session: SessionDep, _: ReaderDep, since: datetime | None = None
) -> dict[str, Any]:
    """Every dial of the campaign replayed against today's rules: the dials that break them.

    The same report as ``voicebot compliance audit``; ``since`` without an offset is UTC.
    """
    _campaign(session, campaign_id)
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return audit_campaign(session, campaign_id, since=since).to_json()


def _changed(
    request: Request, session: SessionDep, campaign_id: int, **counts: int
) -> CampaignChange:
    session.flush()
    change = CampaignChange(
        campaign=CampaignOut.model_validate(_campaign(session, campaign_id)), **counts
    )
    session.commit()
    cache: StatusCache = request.app.state.status_cache
    cache.forget(campaign_id)
    return change


@router.post("/{campaign_id}/launch", responses={404: {}, 409: {}})
def launch(
    campaign_id: IdPath, request: Request, session: SessionDep, who: ManagerDep
) -> CampaignChange:
    _campaign(session, campaign_id)
    queued = lifecycle.launch_campaign(
        session, campaign_id=campaign_id, now=utc_now(), actor=who.name
    )
    return _changed(request, session, campaign_id, attempts_queued=queued)


@router.post("/{campaign_id}/pause", responses={404: {}, 409: {}})
def pause(
    campaign_id: IdPath, request: Request, session: SessionDep, who: ManagerDep
) -> CampaignChange:
    _campaign(session, campaign_id)
    lifecycle.pause_campaign(session, campaign_id=campaign_id, now=utc_now(), actor=who.name)
    return _changed(request, session, campaign_id)


@router.post("/{campaign_id}/resume", responses={404: {}, 409: {}})
def resume(
    campaign_id: IdPath, request: Request, session: SessionDep, who: ManagerDep
) -> CampaignChange:
    _campaign(session, campaign_id)
    lifecycle.resume_campaign(session, campaign_id=campaign_id, now=utc_now(), actor=who.name)
    return _changed(request, session, campaign_id)


@router.post("/{campaign_id}/stop", responses={404: {}, 409: {}})
def stop(
    campaign_id: IdPath, request: Request, session: SessionDep, who: ManagerDep
) -> CampaignChange:
    _campaign(session, campaign_id)
    cancelled = lifecycle.stop_campaign(
        session, campaign_id=campaign_id, now=utc_now(), actor=who.name
    )
    return _changed(request, session, campaign_id, attempts_cancelled=cancelled)
