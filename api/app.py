"""The app factory: one FastAPI app per Settings, its own engine, metrics and error bodies."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from starlette.routing import Route

from api import console, errors, guard, redaction
from api.errors import ERROR_RESPONSES
from api.metrics import Metrics
from api.routes import (
    agents,
    calls,
    campaign_messaging,
    campaigns,
    debtors,
    dialplans,
    keys,
    messaging,
    ops,
    payments,
    portfolios,
    promises,
    webhooks,
)
from api.status_cache import StatusCache
from api.throttle import KeyThrottle
from voicebot.config import Settings
from voicebot.storage.db import make_engine, session_factory

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

MULTIPART_OVERHEAD = 64 * 1024  # form fields and part headers around an upload at the limit

DESCRIPTION = """Outcomes API of the collections voicebot.

Authenticate with an API key in the `X-API-Key` header (`voicebot apikey create NAME --role ROLE`).
Roles: **admin** (everything, keys, replays), **manager** (portfolios, campaigns, promises),
**agent** (transfers and only the calls transferred to it), **auditor** (read-only).
Errors always have the body `{"error": {"code", "message", "details"}}`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        redaction.install("", "uvicorn", "uvicorn.access", "uvicorn.error", "voicebot", "api")
        yield
        engine.dispose()

    app = FastAPI(
        title="cobranza-voicebot",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # Counts the bytes actually received (chunked bodies too), not only Content-Length.
        max_body_size=settings.api.max_upload_bytes + MULTIPART_OVERHEAD,
    )
    app.state.settings = settings
    app.state.sessions = session_factory(engine)
    app.state.metrics = Metrics(app.state.sessions)
    app.state.status_cache = StatusCache(settings.api.status_cache_seconds)
    app.state.key_throttle = KeyThrottle(settings.api.failed_keys_per_minute)
    app.state.cursor_secret = (
        settings.api.cursor_secret.encode()
        if settings.api.cursor_secret
        else secrets.token_bytes(32)
    )
    errors.install(app)

    if settings.api.cors_origins:  # closed unless origins are listed
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["X-API-Key", "Content-Type"],
        )

    limit = settings.api.max_upload_bytes

    @app.middleware("http")
    async def guard_and_measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        refused = await guard.admit(request, limit)
        response = refused if refused is not None else await call_next(request)
        guard.secure_headers(request, response)
        route = guard.route_template(request)
        method = request.method if request.method in KNOWN_METHODS else "OTHER"
        metrics: Metrics = app.state.metrics
        metrics.requests.labels(route, method, str(response.status_code)).inc()
        metrics.request_seconds.labels(route).observe(time.perf_counter() - started)
        return response

    modules = (
        ops,
        keys,
        portfolios,
        campaigns,
        debtors,
        calls,
        promises,
        agents,
        dialplans,
        webhooks,
        messaging,
        payments,
        campaign_messaging,
    )
    for module in modules:
        app.include_router(module.router, responses=ERROR_RESPONSES)
    console.install(app)
    app.state.route_table = [
        *(r for r in app.router.routes if isinstance(r, Route)),
        *(r for module in modules for r in module.router.routes),
    ]
    return app
