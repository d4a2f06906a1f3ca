"""The web console: manager pages, live dashboard, agent desk (README "Console")."""

from __future__ import annotations

import secrets
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from api.console import (
    auth_pages,
    call_pages,
    desk_pages,
    live_pages,
    manager_pages,
    record_pages,
)
from api.console.live_tally import LiveTally
from api.console.web import PREFIX, ConsoleRefusal, console_secret
from api.status_cache import StatusCache

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    settings = app.state.settings
    app.state.console_secret = console_secret(settings) or secrets.token_bytes(32)
    app.state.console_live = StatusCache(settings.api.console_tick_seconds)
    app.state.console_queue = StatusCache(settings.api.console_desk_tick_seconds)
    app.state.console_tally = LiveTally()
    app.state.console_feeds = {}  # (campaign, language) -> the dashboards' SharedFeed

    async def refused(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ConsoleRefusal)
        return exc.response

    app.add_exception_handler(ConsoleRefusal, refused)
    # The event streams first: "/campaigns/{id}/live" is not a lifecycle action.
    for module in (auth_pages, live_pages, record_pages, manager_pages, desk_pages, call_pages):
        app.include_router(module.router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="console-static")
