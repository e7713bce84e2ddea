"""``/api/v1/audiohook/ws``: the AudioHook WebSocket endpoint (a thin loop over :class:`AudiohookConnection`).

The upgrade request is authenticated before the socket is accepted (X-API-KEY + HTTP message
signature); a failure is answered ``401`` and nothing else, whatever the reason (logged here).
Transcripts can be sent back to the client as ``event`` messages (``customConfig.sendTranscripts``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from fastapi import APIRouter, WebSocket
from fastapi.responses import PlainTextResponse
from starlette.types import Message
from starlette.websockets import WebSocketDisconnect

from api.audiohook.connection import AudiohookConnection
from api.audiohook.live_tap import LiveTap
from qa_engine.app.audiohook_clients import ClientRegistry

from .hub import get_hub
from .protocol import format_duration, is_uuid
from .signature import SignatureError, verify

logger = logging.getLogger(__name__)
router = APIRouter(tags=["audiohook"])
MIN_FAILURE_S = 0.2  # answer failed signatures no sooner than this (less timing signal)
#: How long a client may stay silent when it owes a message: 'open' after connecting, 'close' after a 'disconnect'.
OPEN_TIMEOUT_S = 10.0


def _registry(websocket: WebSocket) -> ClientRegistry:
    state = websocket.app.state
    registry: ClientRegistry | None = getattr(state, "audiohook_clients", None)
    if registry is None:
        registry = ClientRegistry(state.settings.data_dir)
        state.audiohook_clients = registry
    return registry


async def _deny(websocket: WebSocket, status_code: int, text: str) -> None:
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(PlainTextResponse(text, status_code=status_code))
    else:  # the server cannot send an HTTP answer: refuse the upgrade (403)
        await websocket.close(code=1008)


def _request_target(websocket: WebSocket) -> str:
    raw = websocket.scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else websocket.scope["path"]
    query = websocket.scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{query}" if query else path


@router.websocket("/audiohook/ws")
async def audiohook_ws(websocket: WebSocket) -> None:
    started = time.monotonic()
    headers = {k.lower(): v for k, v in websocket.headers.items()}
    registry = _registry(websocket)
    try:
        api_key = verify(headers, request_target=_request_target(websocket),
                         secret_for=lambda key: c.client_secret if (c := registry.get(key)) else None)
    except SignatureError as exc:
        logger.warning("audiohook connection refused: %s", exc)
        await asyncio.sleep(max(0.0, MIN_FAILURE_S - (time.monotonic() - started)))
        await _deny(websocket, 401, "Unauthorized")
        return
    session_id = headers.get("audiohook-session-id", "")
    client = registry.get(api_key)
    if client is None or not is_uuid(session_id):
        await _deny(websocket, 400, "missing or malformed audiohook-session-id header field")
        return
    await websocket.accept()
    await _serve(websocket, client, session_id)


async def _serve(websocket: WebSocket, client: Any, session_id: str) -> None:
    app = websocket.app
    hub = get_hub(app)
    loop = asyncio.get_running_loop()
    outbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    def enqueue_transcript(event: dict[str, Any]) -> None:  # on the loop: seq numbers follow the send order
        if live.send_transcripts:
            for msg in session.event([_transcript_entity(event)]):
                outbox.put_nowait(msg)

    def send_transcript(event: dict[str, Any]) -> None:  # from the transcriber's thread
        loop.call_soon_threadsafe(enqueue_transcript, event)

    def control(kind: str) -> bool:  # a supervisor's pause/resume (on the loop, like every other message)
        out = session.pause() if kind == "pause" else session.resume()
        for msg in out:
            outbox.put_nowait(msg)
        return bool(out)

    live = LiveTap(app, hub, client, session_id, send_transcript)
    session = AudiohookConnection(session_id, live)
    hub.controls[session_id] = control
    sender = asyncio.create_task(_send_loop(websocket, outbox))
    try:
        while True:
            message = await _receive(websocket, session)
            if message is None:  # a silent client before 'open' is told why; after the session, let go
                if session.state != "connected":
                    await websocket.close(code=1008, reason=f"nothing received for {OPEN_TIMEOUT_S:g} s")
                    break
                for msg in session.timed_out(OPEN_TIMEOUT_S):
                    await outbox.put(msg)
                continue
            if message["type"] == "websocket.disconnect":
                break
            if message.get("bytes") is not None:
                out = session.on_binary(message["bytes"])
            else:
                out = session.on_text(message.get("text") or "")
            for msg in out:
                await outbox.put(msg)
            if session.state == "closing":
                await asyncio.to_thread(live.finalise)  # 'closed' goes out once the call is stored
                for msg in session.complete_close():
                    await outbox.put(msg)
    except WebSocketDisconnect:
        pass
    finally:
        hub.controls.pop(session_id, None)
        session.connection_lost()
        await outbox.put(None)
        await sender
        await asyncio.to_thread(live.finalise)


async def _receive(websocket: WebSocket, session: AudiohookConnection) -> Message | None:
    """The next WebSocket event; None when a client that owes us a message (``open``, or ``close`` after a
    ``disconnect``, or nothing more after ``closed``) sent nothing for ``OPEN_TIMEOUT_S``: without this bound
    a client that connects and stays silent, or trickles a message forever, holds its connection for good."""
    waiting = session.state in ("connected", "error", "closed")
    try:
        return await asyncio.wait_for(websocket.receive(), OPEN_TIMEOUT_S if waiting else None)
    except TimeoutError:
        return None


async def _send_loop(websocket: WebSocket, outbox: asyncio.Queue[dict[str, Any] | None]) -> None:
    """Sends queued messages in order (one writer per socket); stops at None or when the socket is gone."""
    while (msg := await outbox.get()) is not None:
        try:
            await websocket.send_json(msg)
        except (WebSocketDisconnect, RuntimeError, OSError):
            return


def _transcript_entity(event: dict[str, Any]) -> dict[str, Any]:
    """A transcript ``event`` entity (AudioHook transcription connector shape, one final alternative)."""
    u = event["utterance"]
    return {"type": "transcript", "data": {
        "id": f"{u['channel']}-{u['start']:.3f}", "channelId": u["channel"], "isFinal": True,
        "position": format_duration(u["start"]), "duration": format_duration(u["end"] - u["start"]),
        "alternatives": [{"confidence": 1.0, "interpretations": [{"type": "display", "transcript": u["text"]}]}]}}
