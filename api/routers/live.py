"""Supervisor live feed: the live calls, their transcripts and alerts, as they happen (Server-Sent Events).

Role-scoped like every call read: admin all, supervisors their teams' calls, agents their own
(``LiveCallInfo.agent`` == their name). Authentication is the API's: ``Authorization: Bearer KEY`` or
the web UI's session cookie (EventSource sends cookies), so the UI's live page can consume it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from qa_engine.app.access import live_scope, require_role
from qa_engine.app.errors import Conflict, NotFound
from qa_engine.app.models import User

from ..audiohook.hub import LiveCallInfo, Visible, get_hub
from ..deps import CurrentUser, SessionDep

router = APIRouter(prefix="/live", tags=["live"])
KEEPALIVE_S = 15.0


def _scope(session: SessionDep, user: User) -> Visible:
    """Who may see which live call: :func:`qa_engine.app.access.live_scope`, the one place scoping is decided."""
    return live_scope(session, user)


@router.get("/calls", summary="Live calls you may see, with their recent transcript and alerts")
def live_calls(request: Request, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    hub = get_hub(request.app)
    calls = hub.visible_calls(_scope(session, user))
    return {"calls": [c.summary() for c in calls], "asr_backlog": hub.transcriber.backlog,
            "asr_lag_s": round(hub.transcriber.lag_s(), 3)}


async def _control(request: Request, session: SessionDep, user: User, session_id: str, kind: str) -> dict[str, Any]:
    hub = get_hub(request.app)
    visible = _scope(session, user)
    session.close()
    info = hub.calls.get(session_id)
    if info is not None and visible(info):
        require_role(user, "supervisor", "admin")  # an agent may not stop the recording of their own call
    control = hub.controls.get(session_id)
    if info is None or not visible(info):
        raise NotFound(f"no live call {session_id!r} that you may see")
    if control is None or not control(kind):
        raise Conflict(f"live call {session_id!r} is not streaming (state: {info.state}): nothing to {kind}")
    return {"session_id": session_id, "sent": kind}


@router.post("/calls/{session_id}/pause", status_code=202,
             summary="Ask the AudioHook client to pause this call's audio (e.g. while a card number is read out)",
             responses={403: {"description": "agents may not pause their calls' audio"},
                        404: {"description": "no such live call you may see"},
                        409: {"description": "the call is not streaming"}})
async def pause_call(session_id: str, request: Request, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    return await _control(request, session, user, session_id, "pause")


@router.post("/calls/{session_id}/resume", status_code=202, summary="End a pause asked for with .../pause",
             responses={403: {"description": "agents may not resume their calls' audio"},
                        404: {"description": "no such live call you may see"},
                        409: {"description": "the call is not streaming"}})
async def resume_call(session_id: str, request: Request, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    return await _control(request, session, user, session_id, "resume")


def _sse(event: dict[str, Any]) -> str:
    return f"event: {event['type']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"


@router.get("/events", summary="Server-Sent Events: call_started, transcript, alert, call_ended",
            response_class=StreamingResponse,
            responses={200: {"description": "an endless event stream (keep-alive comments between events)",
                             "content": {"text/event-stream": {"schema": {"type": "string"}}}}})
async def live_events(request: Request, session: SessionDep, user: CurrentUser) -> StreamingResponse:
    hub = get_hub(request.app)
    visible = _scope(session, user)
    session.close()  # the stream may last hours: hold no database connection

    async def stream() -> AsyncIterator[str]:
        sub = hub.subscribe(visible)
        try:
            snapshot: list[LiveCallInfo] = hub.visible_calls(visible)
            yield _sse({"type": "snapshot", "calls": [c.summary() for c in snapshot]})
            while True:
                try:
                    event = await asyncio.wait_for(sub.queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield ": keep-alive\n\n"
                    continue
                if sub.dropped:
                    yield _sse({"type": "dropped", "count": sub.dropped})
                    sub.dropped = 0
                yield _sse(event)
        finally:
            hub.unsubscribe(sub)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
