"""The creditor's payments as a CSV upload: promises kept, partly paid or still pending.

Same file and rules as ``voicebot payments import``: all or nothing, every bad line named
(422), each payment imported once by its ``payment_id`` so a re-upload is safe.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from pydantic import BaseModel

from api.deps import ManagerDep, SessionDep, SettingsDep
from api.errors import ApiError
from voicebot.followups.payments import PaymentsError, import_payments, parse_payments

router = APIRouter(prefix="/payments", tags=["payments"])


class PaymentsImportOut(BaseModel):
    imported: int
    already_imported: int
    partial: int
    unmatched: int
    kept: list[int]


@router.post("/csv", responses={413: {}, 422: {}})
def upload_payments(
    file: Annotated[
        UploadFile,
        File(description="CSV: payment_id,debt_ref,amount,currency,paid_on[,debtor_id]"),
    ],
    session: SessionDep,
    settings: SettingsDep,
    who: ManagerDep,
) -> PaymentsImportOut:
    limit = settings.api.max_upload_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, "payload_too_large", f"uploads are limited to {limit} bytes")
    try:
        rows = parse_payments(data.decode("utf-8"))
        report = import_payments(
            session,
            rows,
            source=(file.filename or "upload")[:120],
            actor=who.name,
            now=datetime.now(UTC),
        )
    except UnicodeDecodeError as exc:
        raise ApiError(422, "invalid_payments", "the file is not UTF-8 text") from exc
    except PaymentsError as exc:
        session.rollback()
        raise ApiError(
            422, "invalid_payments", "nothing imported", {"problems": exc.problems}
        ) from exc
    session.commit()
    return PaymentsImportOut(
        imported=report.imported,
        already_imported=report.already_imported,
        partial=report.partial,
        unmatched=report.unmatched,
        kept=report.kept,
    )
