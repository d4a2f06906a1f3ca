"""The event streams behind the live dashboard and the agent desk."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from api.console.desk_pages import desk_fragment
from api.console.live import SSE_HEADERS, live_snapshot, stream
from api.console.web import PREFIX, ConsoleUser, console_user, fragment
from api.security import ADMIN, AGENT, AUDITOR, MANAGER

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Reader = Annotated[ConsoleUser, Depends(console_user(ADMIN, MANAGER, AUDITOR))]
Agent = Annotated[ConsoleUser, Depends(console_user(AGENT))]


@router.get("/campaigns/{campaign_id}/live")
def campaign_live(request: Request, campaign_id: int, user: Reader) -> StreamingResponse:
    rendered: dict[tuple[int, str], tuple[str, str]] = request.app.state.console_rendered

    def render() -> str:
        """One rendering per snapshot and language, shared by every viewer."""
        snap = live_snapshot(request.app, campaign_id)
        key = (campaign_id, user.language)
        cached = rendered.get(key)
        if cached is not None and cached[0] == snap["as_of"]:
            return cached[1]
        html = fragment("_kpis.html", language=user.language, snap=snap)
        rendered[key] = (snap["as_of"], html)
        return html

    tick = request.app.state.settings.api.console_tick_seconds
    return StreamingResponse(
        stream(request, "kpis", render, tick),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )


@router.get("/desk/live")
def desk_live(request: Request, user: Agent) -> StreamingResponse:
    def render() -> str:
        return desk_fragment(request, user)

    tick = request.app.state.settings.api.console_desk_tick_seconds
    return StreamingResponse(
        stream(request, "desk", render, tick),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )
