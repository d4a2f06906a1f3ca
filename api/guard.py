"""What every request passes before any route runs: the key, the throttle, the size.

Authentication happens here, before a single byte of the body is read, so an
anonymous client cannot make the server receive and parse megabytes before its
401 (FastAPI reads and parses the body before it resolves dependencies). The
principal found is handed to the routes through ``request.state``.
"""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, Match

from api.errors import error_response
from api.security import Principal, authenticate
from api.throttle import KeyThrottle

API_KEY_HEADER = "X-API-Key"
UPLOAD_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Answer without a key: liveness, readiness (details only with a key), metrics (unless
# api.ops_key_required), and the API's own documentation.
PUBLIC_PATHS = frozenset(
    {"/health", "/ready", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
    # Twilio's messaging webhooks: no key, a Twilio signature instead (api/routes/messaging.py).
    | {"/messaging/twilio/status", "/messaging/twilio/inbound"}
)
DOC_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
# The web console signs in with a session cookie and checks roles itself (api/console).
CONSOLE_PREFIX = "/console"

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
}
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# The console's own files only: no inline script, no CDN.
CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
# Swagger UI and ReDoc load their scripts and styles from a CDN.
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com; "
    "connect-src 'self'; worker-src blob:; frame-ancestors 'none'"
)


def _roles(dependant: Dependant) -> tuple[str, ...] | None:
    """The roles a route's ``require(...)`` dependency admits, if it has one."""
    for sub in dependant.dependencies:
        roles = getattr(sub.call, "roles", None)
        if roles is not None:
            return tuple(roles)
        found = _roles(sub)
        if found is not None:
            return found
    return None


def matched_route(request: Request) -> BaseRoute | None:
    """The route that will serve ``request`` (or whose path matches, for a 405), looked up
    in the flat table ``create_app`` stores: the app's own router nests included routers."""
    partial = None
    for route in request.app.state.route_table:
        match, _ = route.matches(request.scope)
        if match is Match.FULL:
            return route  # type: ignore[no-any-return]
        if match is Match.PARTIAL and partial is None:
            partial = route
    return partial


def route_template(request: Request) -> str:
    """The path template (``/calls/{call_id}``) for metrics: never the raw path, whose ids
    and random probes would each become a new time series."""
    route = matched_route(request)
    return str(getattr(route, "path", "unmatched")) if route is not None else "unmatched"


def required_roles(request: Request) -> tuple[str, ...] | None:
    route = matched_route(request)
    return _roles(route.dependant) if isinstance(route, APIRoute) else None


def _is_console(path: str) -> bool:
    return path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/")


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _authenticate(request: Request, key: str) -> Principal | None:
    with request.app.state.sessions() as session:
        return authenticate(session, key)


async def admit(request: Request, limit: int) -> Response | None:
    """None to let the request through, or the refusal to send instead."""
    key = request.headers.get(API_KEY_HEADER)
    # CORS preflights carry no key by design; the CORS middleware answers them and no
    # route reads an OPTIONS body.
    public = request.url.path in PUBLIC_PATHS or request.method == "OPTIONS"
    if _is_console(request.url.path):
        request.state.principal = None
        return None  # the console authenticates its own cookie; uploads are size-checked there
    request.state.principal = None
    if key:
        throttle: KeyThrottle = request.app.state.key_throttle
        client = client_address(request)
        wait = throttle.retry_after(client)
        if wait is not None:
            return error_response(
                429,
                "too_many_failed_keys",
                f"too many invalid API keys from this client; retry in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        principal = await run_in_threadpool(_authenticate, request, key)
        if principal is None:
            throttle.failed(client)
            if not public:
                return error_response(
                    401, "unauthorized", "the API key is not valid or was revoked"
                )
        request.state.principal = principal
        roles = required_roles(request) if principal is not None and not public else None
        if principal is not None and roles is not None and principal.role not in roles:
            return error_response(
                403,
                "forbidden",
                f"role {principal.role!r} may not do this; allowed: {', '.join(roles)}",
            )
    elif not public:
        return error_response(
            401, "unauthorized", f"send an API key in the {API_KEY_HEADER} header"
        )
    length = request.headers.get("content-length")
    if request.method in UPLOAD_METHODS and length is not None:
        if not length.isdigit():
            return error_response(400, "bad_request", "invalid Content-Length")
        if int(length) > limit:
            return error_response(
                413, "payload_too_large", f"request bodies are limited to {limit} bytes"
            )
    return None


def secure_headers(request: Request, response: Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    path = request.url.path
    csp = DOCS_CSP if path in DOC_PATHS else CONSOLE_CSP if _is_console(path) else API_CSP
    response.headers.setdefault("Content-Security-Policy", csp)
