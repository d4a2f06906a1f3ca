"""Dependencies as ``Annotated`` aliases: a route's signature says what it needs and who may call."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session, sessionmaker

from api.errors import ApiError
from api.security import ADMIN, AGENT, AUDITOR, MANAGER, Principal, authenticate
from voicebot.config import Settings

API_KEY_HEADER = "X-API-Key"
_api_key = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="An API key")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_sessions(request: Request) -> sessionmaker[Session]:
    sessions: sessionmaker[Session] = request.app.state.sessions
    return sessions


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; routes that write commit explicitly, the rest roll back."""
    with get_sessions(request)() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionsDep = Annotated[sessionmaker[Session], Depends(get_sessions)]
SessionDep = Annotated[Session, Depends(get_session)]


def get_principal(
    request: Request, session: SessionDep, key: Annotated[str | None, Security(_api_key)]
) -> Principal:
    """The principal the guard middleware authenticated before the body was read."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    if not key:
        raise ApiError(401, "unauthorized", f"send an API key in the {API_KEY_HEADER} header")
    principal = authenticate(session, key)
    if principal is None:
        raise ApiError(401, "unauthorized", "the API key is not valid or was revoked")
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(*roles: str) -> Callable[[Principal], Principal]:
    def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise ApiError(
                403,
                "forbidden",
                f"role {principal.role!r} may not do this; allowed: {', '.join(roles)}",
            )
        return principal

    check.roles = roles  # type: ignore[attr-defined]  # the guard refuses before the body
    return check


AdminDep = Annotated[Principal, Depends(require(ADMIN))]
ManagerDep = Annotated[Principal, Depends(require(ADMIN, MANAGER))]
ReaderDep = Annotated[Principal, Depends(require(ADMIN, MANAGER, AUDITOR))]
AgentDep = Annotated[Principal, Depends(require(AGENT))]
AnyRoleDep = Annotated[Principal, Depends(require(ADMIN, MANAGER, AGENT, AUDITOR))]
