"""A debtor's history across campaigns with the audited opt-out, and a campaign's
compliance view (refusals by rule, the replay audit of every dial) with its CSV export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from api.console.i18n import translate
from api.console.web import PREFIX, ConsoleUser, console_user, not_found, render
from api.security import ADMIN, AUDITOR, MANAGER
from voicebot.campaigns.compliance_audit import audit_campaign
from voicebot.campaigns.status import refusals_by_rule
from voicebot.storage import models as m
from voicebot.storage.repositories import record_opt_out

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Reader = Annotated[ConsoleUser, Depends(console_user(ADMIN, MANAGER, AUDITOR))]
Manager = Annotated[ConsoleUser, Depends(console_user(ADMIN, MANAGER))]
MAX_REASON = 200


def _debtor_page(
    request: Request, user: ConsoleUser, debtor_id: int, *, flash: str = "", status_code: int = 200
) -> Response:
    with request.app.state.sessions() as s:
        debtor = s.get(m.Debtor, debtor_id)
        if debtor is None:
            return not_found(request, user)
        attempts = s.execute(
            select(m.CallAttempt, m.Campaign.name, m.CallRecord.id)
            .join(m.Campaign, m.Campaign.id == m.CallAttempt.campaign_id)
            .outerjoin(m.CallRecord, m.CallRecord.attempt_id == m.CallAttempt.id)
            .where(m.CallAttempt.debtor_id == debtor_id)
            .order_by(m.CallAttempt.id.desc())
        ).all()
        return render(
            request,
            "debtor.html",
            language=user.language,
            user=user,
            debtor=debtor,
            status_code=status_code,
            flash=flash,
            attempts=attempts,
            promises=s.scalars(
                select(m.PromiseToPay).where(m.PromiseToPay.debtor_id == debtor_id)
            ).all(),
            opt_outs=s.scalars(select(m.OptOut).where(m.OptOut.debtor_id == debtor_id)).all(),
            can_manage=user.principal.role in (ADMIN, MANAGER),
        )


@router.get("/debtors/{debtor_id}")
def debtor_page(request: Request, debtor_id: int, user: Reader) -> Response:
    return _debtor_page(request, user, debtor_id)


@router.post("/debtors/{debtor_id}/opt-out")
async def opt_out(request: Request, debtor_id: int, user: Manager) -> Response:
    form = await request.form()
    reason = str(form.get("reason") or "").strip()
    if form.get("confirmed") != "yes" or not reason or len(reason) > MAX_REASON:
        return _debtor_page(
            request,
            user,
            debtor_id,
            status_code=422,
            flash=translate(user.language, "debtor.opt_out_needs_reason"),
        )
    with request.app.state.sessions() as s:
        if s.get(m.Debtor, debtor_id) is None:
            return not_found(request, user)
        # The same write as POST /debtors/{id}/opt-out: audited, sent to the creditor's webhook.
        record_opt_out(
            s, debtor_id=debtor_id, source="api", actor=user.principal.name, reason=reason
        )
        s.commit()
    return RedirectResponse(f"{PREFIX}/debtors/{debtor_id}", 303)


@router.get("/campaigns/{campaign_id}/compliance")
def compliance(request: Request, campaign_id: int, user: Reader) -> Response:
    with request.app.state.sessions() as s:
        campaign = s.get(m.Campaign, campaign_id)
        if campaign is None:
            return not_found(request, user)
        report = audit_campaign(s, campaign_id, since=None)
        return render(
            request,
            "compliance.html",
            language=user.language,
            user=user,
            campaign=campaign,
            refusals=refusals_by_rule(s, campaign_id),
            report=report.to_json(),
        )


@router.get("/campaigns/{campaign_id}/compliance.csv")
def compliance_csv(request: Request, campaign_id: int, user: Reader) -> Response:
    with request.app.state.sessions() as s:
        if s.get(m.Campaign, campaign_id) is None:
            return not_found(request, user)
        body = audit_campaign(s, campaign_id, since=None).to_csv()
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="compliance-{campaign_id}.csv"'},
    )
