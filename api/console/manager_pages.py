"""The manager's pages: campaigns with their KPIs, create, upload a portfolio, change state.

Every write goes through the same functions as the API routes (the campaign schema,
the portfolio importer, the lifecycle), so the console cannot accept what the API
refuses. Readers (auditors) see the pages without the forms.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.console.i18n import translate
from api.console.live import live_snapshot
from api.console.web import PREFIX, ConsoleUser, console_user, fragment, not_found, render
from api.errors import ApiError
from api.routes.campaigns import create_campaign
from api.schemas import CampaignCreate
from api.security import ADMIN, AUDITOR, MANAGER
from api.status_cache import StatusCache
from voicebot.campaigns import lifecycle
from voicebot.campaigns.compliance import DAYS, RulesError, campaign_rules
from voicebot.campaigns.portfolio import import_csv
from voicebot.campaigns.portfolio_rows import PortfolioError
from voicebot.campaigns.status import campaign_status
from voicebot.storage import models as m
from voicebot.storage.models import utc_now

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Reader = Annotated[ConsoleUser, Depends(console_user(ADMIN, MANAGER, AUDITOR))]
Manager = Annotated[ConsoleUser, Depends(console_user(ADMIN, MANAGER))]

JURISDICTIONS = ("CO", "CL", "MX", "PE", "US")
# The buttons a campaign shows follow the lifecycle's own transitions.
ACTIONS = {
    "launch": (lifecycle.TRANSITIONS["launch"][0], lifecycle.launch_campaign),
    "pause": (lifecycle.TRANSITIONS["pause"][0], lifecycle.pause_campaign),
    "resume": (lifecycle.TRANSITIONS["resume"][0], lifecycle.resume_campaign),
    "stop": (lifecycle.TRANSITIONS["stop"][0], lifecycle.stop_campaign),
}
NEW_FORM = {
    "name": "",
    "jurisdiction": "CO",
    "default_region": "CO",
    "company": "",
    "callback_number": "",
    "dialplan": "cobranza_es",
    "min_payment": "0",
    "max_days_ahead": "30",
    "max_instalments": "6",
    "max_concurrent": "10",
    "calls_per_second": "1",
    "schedule_start": "",
    "schedule_end": "",
}


def _can_manage(user: ConsoleUser) -> bool:
    return user.principal.role in (ADMIN, MANAGER)


@router.get("/campaigns")
def campaigns(request: Request, user: Reader) -> HTMLResponse:
    cache: StatusCache = request.app.state.status_cache
    with request.app.state.sessions() as s:
        rows = []
        for campaign in s.scalars(select(m.Campaign).order_by(m.Campaign.id.desc())):
            status = cache.get(campaign.id, partial(campaign_status, s, campaign_id=campaign.id))
            rows.append((campaign, status["kpis"]))
        return render(
            request,
            "campaigns.html",
            language=user.language,
            user=user,
            rows=rows,
            can_manage=_can_manage(user),
        )


def _new_page(
    request: Request,
    user: ConsoleUser,
    form: dict[str, str],
    errors: list[str],
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "campaign_new.html",
        language=user.language,
        user=user,
        form=form,
        errors=errors,
        jurisdictions=JURISDICTIONS,
        status_code=status_code,
    )


@router.get("/campaigns/new")
def new_campaign_page(request: Request, user: Manager) -> HTMLResponse:
    return _new_page(request, user, dict(NEW_FORM), [])


def _schedule(start: str, end: str) -> dict[str, Any]:
    """Campaign hours from the two form fields (Monday to Saturday); empty: the law's hours."""
    if not start and not end:
        return {}
    return {"hours": {day: [start, end] for day in DAYS if day != "sun"}}


def _validation_errors(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]


@router.post("/campaigns/new")
async def new_campaign(request: Request, user: Manager) -> Response:
    raw = await request.form()
    form = {k: str(raw.get(k) or "").strip() for k in NEW_FORM}
    schedule = _schedule(form["schedule_start"], form["schedule_end"])
    try:
        if schedule:
            campaign_rules(schedule, form["name"] or "new")
        body = CampaignCreate.model_validate(
            {
                "name": form["name"],
                "dialplan": form["dialplan"] or "cobranza_es",
                "jurisdiction": form["jurisdiction"],
                "default_region": form["default_region"],
                "company": form["company"],
                "callback_number": form["callback_number"],
                "limits": {
                    "min_payment": form["min_payment"] or "0",
                    "max_days_ahead": form["max_days_ahead"] or "30",
                    "max_instalments": form["max_instalments"] or "6",
                },
                "schedule": schedule,
                "max_concurrent": form["max_concurrent"] or "10",
                "calls_per_second": form["calls_per_second"] or "1",
            }
        )
    except ValidationError as exc:
        return _new_page(request, user, form, _validation_errors(exc), 422)
    except RulesError as exc:
        return _new_page(request, user, form, [str(exc)], 422)

    def create() -> int:
        with request.app.state.sessions() as s:
            return create_campaign(body, s, request.app.state.settings, user.principal).id

    try:
        campaign_id = await run_in_threadpool(create)
    except ApiError as exc:
        return _new_page(request, user, form, [exc.message], exc.status)
    return RedirectResponse(f"{PREFIX}/campaigns/{campaign_id}", 303)


def _dashboard(request: Request, user: ConsoleUser, campaign_id: int, **extra: Any) -> Response:
    with request.app.state.sessions() as s:
        campaign = s.get(m.Campaign, campaign_id)
        if campaign is None:
            return not_found(request, user)
        snap = live_snapshot(request.app, campaign_id)
        actions = [a for a, (states, _) in ACTIONS.items() if campaign.status in states]
        return render(
            request,
            "dashboard.html",
            language=user.language,
            user=user,
            campaign=campaign,
            actions=actions,
            can_manage=_can_manage(user),
            kpis_html=fragment("_kpis.html", language=user.language, snap=snap),
            **extra,
        )


@router.get("/campaigns/{campaign_id}")
def dashboard(
    request: Request, campaign_id: int, user: Reader, done: str | None = None
) -> Response:
    if done in ACTIONS:
        label = translate(user.language, f"action.{done}")
        return _dashboard(
            request, user, campaign_id, flash=translate(user.language, "action.done", action=label)
        )
    return _dashboard(request, user, campaign_id)


@router.post("/campaigns/{campaign_id}/portfolio")
async def upload(request: Request, campaign_id: int, user: Manager) -> Response:
    form = await request.form()
    file = form.get("file")
    limit = request.app.state.settings.api.max_upload_bytes
    data = await file.read(limit + 1) if isinstance(file, UploadFile) else b""
    with request.app.state.sessions() as s:
        campaign = s.get(m.Campaign, campaign_id)
        region = campaign.default_region if campaign is not None else ""
    if campaign is None:
        return _dashboard(request, user, campaign_id)
    if len(data) > limit:
        return _dashboard(
            request, user, campaign_id, report={"rows": 0}, report_error=f"> {limit} bytes"
        )
    try:
        report = await run_in_threadpool(
            import_csv,
            request.app.state.sessions,
            data,
            default_region=region,
            campaign_id=campaign_id,
        )
    except PortfolioError as exc:
        return _dashboard(request, user, campaign_id, report={"rows": 0}, report_error=str(exc))
    request.app.state.status_cache.forget(campaign_id)
    request.app.state.console_live.forget(campaign_id)
    request.app.state.console_tally.refresh(campaign_id)  # recount now, not at the cycle's end
    return _dashboard(request, user, campaign_id, report=report)


@router.get("/campaigns/{campaign_id}/{action}")
def confirm(request: Request, campaign_id: int, action: str, user: Manager) -> Response:
    with request.app.state.sessions() as s:
        campaign = s.get(m.Campaign, campaign_id)
        if campaign is None or action not in ACTIONS:
            return not_found(request, user)
        return render(
            request,
            "confirm.html",
            language=user.language,
            user=user,
            campaign=campaign,
            action=action,
        )


@router.post("/campaigns/{campaign_id}/{action}")
def change(request: Request, campaign_id: int, action: str, user: Manager) -> Response:
    if action not in ACTIONS:
        return RedirectResponse(f"{PREFIX}/campaigns/{campaign_id}", 303)
    _, apply = ACTIONS[action]
    with request.app.state.sessions() as s:
        if s.get(m.Campaign, campaign_id) is None:
            return RedirectResponse(f"{PREFIX}/campaigns", 303)
        try:
            apply(s, campaign_id=campaign_id, now=utc_now(), actor=user.principal.name)
            s.commit()
        except lifecycle.CampaignStateError as exc:
            s.rollback()
            refused = translate(user.language, "action.refused", reason=str(exc))
            return _dashboard(request, user, campaign_id, flash=refused, status_code=409)
    request.app.state.status_cache.forget(campaign_id)
    request.app.state.console_live.forget(campaign_id)
    request.app.state.console_tally.refresh(campaign_id)  # recount now, not at the cycle's end
    # Post/redirect/get: reloading the dashboard never repeats the action.
    return RedirectResponse(f"{PREFIX}/campaigns/{campaign_id}?done={action}", 303)
