"""The event streams behind the live dashboard and the agent desk."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from api.console.desk_pages import desk_fragment
from api.console.live import SSE_HEADERS, SharedFeed, live_snapshot, own_frames, stream
from api.console.web import PREFIX, ConsoleUser, console_user, fragment
from api.security import ADMIN, AGENT, AUDITOR, MANAGER

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Reader = Annotated[ConsoleUser, Depends(console_user(ADMIN, MANAGER, AUDITOR))]
Agent = Annotated[ConsoleUser, Depends(console_user(AGENT))]


@router.get("/campaigns/{campaign_id}/live")
def campaign_live(request: Request, campaign_id: int, user: Reader) -> StreamingResponse:
    app = request.app
    tick = app.state.settings.api.console_tick_seconds
    feeds: dict[tuple[int, str], SharedFeed] = app.state.console_feeds
    key = (campaign_id, user.language)
    feed = feeds.get(key)
    if feed is None:

        def render() -> str:
            """Every viewer's fragment: the campaign's snapshot in one language."""
            snap = live_snapshot(app, campaign_id)
            return fragment("_kpis.html", language=key[1], snap=snap)

        feed = feeds[key] = SharedFeed("kpis", render, tick)
    return StreamingResponse(
        stream(request, feed.next, tick),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )


@router.get("/desk/live")
def desk_live(request: Request, user: Agent) -> StreamingResponse:
    def render() -> str:
        return desk_fragment(request, user)

    tick = request.app.state.settings.api.console_desk_tick_seconds
    return StreamingResponse(
        stream(request, own_frames("desk", render), tick),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )
