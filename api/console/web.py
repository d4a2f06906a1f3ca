"""The console's request plumbing: who is signed in, the CSRF check, page rendering.

Roles are the API's own (``api.security``): a page declares the roles that may see it
with ``console_user(...)``, exactly as an API route declares them with ``require(...)``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from api.console import session as cookies
from api.console.i18n import money, translate
from api.security import Principal, principal_by_id
from voicebot.config import Settings

TEMPLATES = Path(__file__).parent / "templates"
ENV = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), auto_reload=False
)
PREFIX = "/console"


class ConsoleRefusal(Exception):
    """Stops a page: send ``response`` instead (a redirect to login, a 403, a CSRF refusal)."""

    def __init__(self, response: Response) -> None:
        super().__init__("console refusal")
        self.response = response


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    principal: Principal
    session: cookies.ConsoleSession
    csrf: str

    @property
    def language(self) -> str:
        return self.session.language


def console_secret(settings: Settings) -> bytes | None:
    """Derived from the configured cursor secret so replicas agree; None: random per process."""
    if not settings.api.cursor_secret:
        return None
    return hmac.new(
        settings.api.cursor_secret.encode(), b"console-session", hashlib.sha256
    ).digest()


def secret(request: Request) -> bytes:
    value: bytes = request.app.state.console_secret
    return value


def now() -> datetime:
    return datetime.now(UTC)


def current_session(request: Request) -> cookies.ConsoleSession | None:
    return cookies.decode(secret(request), request.cookies.get(cookies.COOKIE_NAME), now=now())


def render(
    request: Request,
    template: str,
    *,
    language: str,
    user: ConsoleUser | None = None,
    status_code: int = 200,
    csrf: str = "",
    **context: Any,
) -> HTMLResponse:
    def t(key: str, **values: object) -> str:
        return translate(language, key, **values)

    html = ENV.get_template(template).render(
        t=t,
        money=lambda amount: money(language, amount),
        lang=language,
        user=user,
        csrf=user.csrf if user is not None else csrf,
        prefix=PREFIX,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


def not_found(request: Request, user: ConsoleUser) -> HTMLResponse:
    """The one answer for anything a user may not see or that does not exist: the two are
    not told apart, so a page's existence leaks nothing."""
    return render(
        request,
        "refused.html",
        language=user.language,
        user=user,
        status_code=404,
        title_key="notfound.title",
        body_key="notfound.title",
    )


def fragment(template: str, *, language: str, **context: Any) -> str:
    def t(key: str, **values: object) -> str:
        return translate(language, key, **values)

    return ENV.get_template(template).render(
        t=t,
        money=lambda amount: money(language, amount),
        lang=language,
        prefix=PREFIX,
        **context,
    )


def set_cookie(request: Request, response: Response, session: cookies.ConsoleSession) -> None:
    response.set_cookie(
        cookies.COOKIE_NAME,
        cookies.encode(secret(request), session),
        max_age=max(session.expires - int(now().timestamp()), 0),
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _to_login(request: Request, *, expired: bool) -> RedirectResponse:
    response = RedirectResponse(f"{PREFIX}/login" + ("?expired=1" if expired else ""), 303)
    if expired:
        response.delete_cookie(cookies.COOKIE_NAME, path=PREFIX)
    return response


def console_user(*roles: str) -> Callable[[Request], Coroutine[Any, Any, ConsoleUser]]:
    """A dependency: the signed-in user if its role is one of ``roles``, else a refusal."""

    async def dependency(request: Request) -> ConsoleUser:
        session = current_session(request)
        had_cookie = cookies.COOKIE_NAME in request.cookies
        if session is None or session.key_id is None:
            raise ConsoleRefusal(_to_login(request, expired=had_cookie and session is None))
        key_id = session.key_id

        def lookup() -> Principal | None:
            with request.app.state.sessions() as s:
                return principal_by_id(s, key_id)

        principal = await run_in_threadpool(lookup)
        if principal is None:
            raise ConsoleRefusal(_to_login(request, expired=True))
        user = ConsoleUser(principal, session, cookies.csrf_token(secret(request), session))
        if principal.role not in roles:
            raise ConsoleRefusal(
                render(
                    request,
                    "refused.html",
                    language=session.language,
                    user=user,
                    status_code=403,
                    title_key="forbidden.title",
                    body_key="forbidden.body",
                )
            )
        if request.method == "POST":
            form = await request.form()
            token = form.get("csrf")
            if not cookies.csrf_valid(
                secret(request), session, token if isinstance(token, str) else None
            ):
                raise ConsoleRefusal(
                    render(
                        request,
                        "refused.html",
                        language=session.language,
                        user=user,
                        status_code=403,
                        title_key="csrf.title",
                        body_key="csrf.body",
                    )
                )
        return user

    return dependency
