"""Portfolio uploads: CSV (multipart) or JSON rows, answered with the per-row error report.

Valid rows are stored even when others fail (imports are idempotent upserts, so
re-uploading the corrected file is safe); any row error makes the answer 422
with the whole report, so a client cannot mistake a partial import for success.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import WithJsonSchema
from sqlalchemy.orm import Session, sessionmaker

from api.deps import ManagerDep, SessionsDep, SettingsDep
from api.errors import ApiError, not_found
from api.fields import INT32_MAX
from api.schemas import ImportReportOut, PortfolioJson
from voicebot.campaigns.portfolio import ImportReport, import_csv, import_json_rows
from voicebot.campaigns.portfolio_rows import PortfolioError
from voicebot.storage import models as m

router = APIRouter(prefix="/portfolios", tags=["portfolios"])


def _check_campaign(sessions: sessionmaker[Session], campaign_id: int | None) -> None:
    if campaign_id is None:
        return
    with sessions() as session:
        if session.get(m.Campaign, campaign_id) is None:
            raise not_found("campaign", campaign_id)


def _answer(report: ImportReport) -> ImportReportOut:
    body = ImportReportOut.model_validate(report.to_json())
    if report.errors:
        raise ApiError(
            422,
            "invalid_rows",
            f"{len({e.line for e in report.errors})} of {report.rows} rows were rejected; "
            f"{report.imported} imported",
            body.model_dump(),
        )
    return body


@router.post("/csv", responses={413: {}, 422: {}})
def upload_csv(
    file: Annotated[UploadFile, File(description="CSV with a header row")],
    default_region: Annotated[str, Form(pattern=r"^[A-Za-z]{2}$")],
    sessions: SessionsDep,
    settings: SettingsDep,
    _: ManagerDep,
    # Optional, but never "null": a multipart form has no null, only an absent field.
    campaign_id: Annotated[
        int | None,
        Form(ge=1, le=INT32_MAX),
        WithJsonSchema({"type": "integer", "minimum": 1, "maximum": INT32_MAX}),
    ] = None,
    default_creditor: Annotated[str, Form(max_length=120, pattern=r"^[^\x00]*$")] = "",
) -> ImportReportOut:
    _check_campaign(sessions, campaign_id)
    limit = settings.api.max_upload_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, "payload_too_large", f"uploads are limited to {limit} bytes")
    try:
        report = import_csv(
            sessions,
            data,
            default_region=default_region.upper(),
            campaign_id=campaign_id,
            default_creditor=default_creditor,
        )
    except PortfolioError as exc:
        raise ApiError(422, "unreadable_portfolio", str(exc)) from exc
    return _answer(report)


@router.post("/json", responses={413: {}, 422: {}})
def upload_json(body: PortfolioJson, sessions: SessionsDep, _: ManagerDep) -> ImportReportOut:
    _check_campaign(sessions, body.campaign_id)
    try:
        report = import_json_rows(
            sessions,
            body.rows,
            default_region=body.default_region.upper(),
            campaign_id=body.campaign_id,
            default_creditor=body.default_creditor,
        )
    except PortfolioError as exc:
        raise ApiError(422, "unreadable_portfolio", str(exc)) from exc
    return _answer(report)
