"""API keys: admins issue and revoke them; the key itself is shown once."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from api.deps import AdminDep, SessionDep
from api.errors import ApiError, not_found
from api.fields import IdPath
from api.pagination import Limit, Offset, paginate
from api.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut, Page
from api.security import ApiKeyError, create_api_key
from voicebot.storage import models as m
from voicebot.storage.models import utc_now
from voicebot.storage.repositories import append_audit

router = APIRouter(prefix="/api-keys", tags=["api keys"])


@router.post("", status_code=201)
def create_key(body: ApiKeyCreate, session: SessionDep, who: AdminDep) -> ApiKeyCreated:
    try:
        row, key = create_api_key(
            session, name=body.name, role=body.role, actor=who.name, now=utc_now()
        )
    except ApiKeyError as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    created = ApiKeyCreated(**ApiKeyOut.model_validate(row).model_dump(), key=key)
    session.commit()
    return created


@router.get("")
def list_keys(
    session: SessionDep, _: AdminDep, limit: Limit = 50, offset: Offset = 0
) -> Page[ApiKeyOut]:
    query = select(m.ApiKey).order_by(m.ApiKey.id)
    return paginate(session, query, limit=limit, offset=offset, schema=ApiKeyOut)


@router.delete("/{key_id}")
def revoke_key(key_id: IdPath, session: SessionDep, who: AdminDep) -> ApiKeyOut:
    row = session.get(m.ApiKey, key_id)
    if row is None:
        raise not_found("API key", key_id)
    if row.revoked_at is None:
        row.revoked_at = utc_now()
        append_audit(session, actor=who.name, action="api_key_revoked", reason=row.name)
    session.flush()
    answer = ApiKeyOut.model_validate(row)
    session.commit()
    return answer
