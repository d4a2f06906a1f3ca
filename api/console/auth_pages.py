"""Sign in with an API key, sign out, switch language: the session cookie's life."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.console import session as cookies
from api.console.i18n import translate
from api.console.web import (
    PREFIX,
    ConsoleUser,
    console_user,
    current_session,
    now,
    render,
    secret,
    set_cookie,
)
from api.security import ADMIN, AGENT, AUDITOR, MANAGER, Principal, authenticate
from api.throttle import KeyThrottle

router = APIRouter(prefix=PREFIX, include_in_schema=False)
AnyUser = Annotated[ConsoleUser, Depends(console_user(ADMIN, MANAGER, AGENT, AUDITOR))]


def _lifetime(request: Request) -> int:
    return int(request.app.state.settings.api.console_session_minutes * 60)


def home_of(role: str) -> str:
    return f"{PREFIX}/desk" if role == AGENT else f"{PREFIX}/campaigns"


@router.get("")
@router.get("/")
def home(request: Request) -> Response:
    return RedirectResponse(f"{PREFIX}/login", 303)


@router.get("/login")
def login_page(request: Request, expired: int = 0) -> HTMLResponse:
    """An anonymous session first, so even the login form carries a CSRF token."""
    session = current_session(request)
    if session is None or session.key_id is not None:
        session = cookies.new_session(
            key_id=None, now=now(), lifetime_seconds=3600, language=cookies.DEFAULT_LANGUAGE
        )
    lang = session.language
    response = render(
        request,
        "login.html",
        language=lang,
        csrf=cookies.csrf_token(secret(request), session),
        error=translate(lang, "login.expired") if expired else "",
    )
    set_cookie(request, response, session)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    session = current_session(request)
    form = await request.form()
    token = form.get("csrf")
    language = str(form.get("language") or cookies.DEFAULT_LANGUAGE)
    if session is None or not cookies.csrf_valid(
        secret(request), session, token if isinstance(token, str) else None
    ):
        return render(
            request,
            "refused.html",
            language=language,
            status_code=403,
            title_key="csrf.title",
            body_key="csrf.body",
        )
    throttle: KeyThrottle = request.app.state.key_throttle
    client = request.client.host if request.client else "unknown"
    if throttle.retry_after(client) is not None:
        return render(
            request,
            "login.html",
            language=language,
            status_code=429,
            csrf=cookies.csrf_token(secret(request), session),
            error=translate(language, "login.bad_key"),
        )
    key = str(form.get("api_key") or "")

    def check() -> Principal | None:
        with request.app.state.sessions() as s:
            return authenticate(s, key)

    principal = await run_in_threadpool(check) if key else None
    if principal is None:
        throttle.failed(client)
        return render(
            request,
            "login.html",
            language=language,
            status_code=401,
            csrf=cookies.csrf_token(secret(request), session),
            error=translate(language, "login.bad_key"),
        )
    try:
        offset = int(str(form.get("tz_offset") or "0"))
    except ValueError:
        offset = 0
    fresh = cookies.new_session(
        key_id=principal.key_id,
        now=now(),
        lifetime_seconds=_lifetime(request),
        language=language,
        offset_minutes=offset,
    )
    response = RedirectResponse(home_of(principal.role), 303)
    set_cookie(request, response, fresh)
    return response


@router.post("/logout")
def logout(request: Request, user: AnyUser) -> Response:
    response = RedirectResponse(f"{PREFIX}/login", 303)
    response.delete_cookie(cookies.COOKIE_NAME, path=PREFIX)
    return response


@router.post("/language")
async def language(request: Request, user: AnyUser) -> Response:
    form = await request.form()
    chosen = str(form.get("language") or "")
    if chosen not in cookies.LANGUAGES:
        chosen = cookies.DEFAULT_LANGUAGE
    s = user.session
    response = RedirectResponse(request.headers.get("referer") or home_of(user.principal.role), 303)
    set_cookie(
        request,
        response,
        cookies.ConsoleSession(s.key_id, s.nonce, s.expires, chosen, s.offset_minutes),
    )
    return response
