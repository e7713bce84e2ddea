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
#: Server messages (``pong``, transcript ``event``s...) queued for a client that does not read them: past this many
#: the client is cut off (WebSocket close 1008) and its call stored as at any end. A reading client's queue holds a
#: message or two; this bounds what one connection makes the server hold (each message is at most a few kB).
OUTBOX_MAX = 256
#: How long the end of a session waits for queued messages (and a close frame) to go out before letting go.
SEND_GRACE_S = 5.0


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
    idle_s = float(app.state.settings.audiohook_idle_timeout_s)
    outbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=OUTBOX_MAX)
    overflow = asyncio.Event()  # set when a client that does not read let OUTBOX_MAX messages pile up

    def post(messages: list[dict[str, Any]]) -> None:  # on the loop; never blocks, never raises
        for msg in messages:
            if overflow.is_set():
                return
            try:
                outbox.put_nowait(msg)
            except asyncio.QueueFull:
                overflow.set()
                session.end("not_reading")
                # the session id is a checked UUID; nothing the client wrote is logged
                logger.warning("audiohook session %s: the client does not read what is sent to it (%d messages "
                               "queued): connection closed", session_id, OUTBOX_MAX)

    def enqueue_transcript(event: dict[str, Any]) -> None:  # on the loop: seq numbers follow the send order
        if live.send_transcripts and not overflow.is_set():
            post(session.event([_transcript_entity(event)]))

    def send_transcript(event: dict[str, Any]) -> None:  # from the transcriber's thread: hands over, never waits
        try:
            loop.call_soon_threadsafe(enqueue_transcript, event)
        except RuntimeError:  # the loop is closed (server shut down): nobody to send it to
            pass

    def control(kind: str) -> bool:  # a supervisor's pause/resume (on the loop, like every other message)
        out = session.pause() if kind == "pause" else session.resume()
        post(out)
        return bool(out)

    live = LiveTap(app, hub, client, session_id, send_transcript)
    session = AudiohookConnection(session_id, live)
    hub.controls[session_id] = control
    sender = asyncio.create_task(_send_loop(websocket, outbox))
    try:
        while True:
            message = await _receive(websocket, session, idle_s, overflow)
            if overflow.is_set():
                await _close(websocket, f"client not reading: over {OUTBOX_MAX} messages queued", wait_s=1.0)
                break
            if message is None:  # a silent client is told why (before 'open' and in an open session); else let go
                if session.state in ("active", "paused"):
                    post(session.idle(idle_s))
                    continue
                if session.state != "connected":
                    await _close(websocket, f"nothing received for {OPEN_TIMEOUT_S:g} s")
                    break
                post(session.timed_out(OPEN_TIMEOUT_S))
                continue
            if message["type"] == "websocket.disconnect":
                break
            if message.get("bytes") is not None:
                out = session.on_binary(message["bytes"])
            else:
                out = session.on_text(message.get("text") or "")
            post(out)
            if session.state == "closing":
                await asyncio.to_thread(live.finalise)  # 'closed' goes out once the call is stored
                post(session.complete_close())
    except WebSocketDisconnect:
        pass
    finally:
        hub.controls.pop(session_id, None)
        session.connection_lost()
        await _stop_sender(sender, outbox)
        await asyncio.to_thread(live.finalise)


async def _receive(websocket: WebSocket, session: AudiohookConnection, idle_s: float,
                   overflow: asyncio.Event) -> Message | None:
    """The next WebSocket event; None when nothing arrived in time: ``OPEN_TIMEOUT_S`` for a client that owes us a
    message (``open``, or ``close`` after a ``disconnect``, or nothing more after ``closed``), ``idle_s`` in an open
    session (a client streams audio and pings, paused or not). Without these bounds a client that connects, or
    opens, and stays silent holds its connection, its live call and a worker slot for good. Returns early (None)
    once ``overflow`` is set."""
    if overflow.is_set():
        return None
    waiting = session.state in ("connected", "error", "closed")
    receive = asyncio.ensure_future(websocket.receive())
    stop = asyncio.ensure_future(overflow.wait())
    try:
        await asyncio.wait((receive, stop), timeout=OPEN_TIMEOUT_S if waiting else idle_s,
                           return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
        if not receive.done():
            receive.cancel()
    if receive.done() and not receive.cancelled():
        return receive.result()  # re-raises what receive raised (WebSocketDisconnect...)
    return None


async def _close(websocket: WebSocket, reason: str, wait_s: float = SEND_GRACE_S) -> None:
    """Close with 1008 and ``reason``; waits at most ``wait_s`` (a client that does not read cannot take the close
    frame: the socket is then let go, and the server closes it)."""
    try:
        await asyncio.wait_for(websocket.close(code=1008, reason=reason), wait_s)
    except (TimeoutError, WebSocketDisconnect, RuntimeError, OSError):
        pass


async def _stop_sender(sender: asyncio.Task[None], outbox: asyncio.Queue[dict[str, Any] | None]) -> None:
    """Let the send loop send what is queued (at most ``SEND_GRACE_S``), then stop it."""
    try:
        outbox.put_nowait(None)
    except asyncio.QueueFull:  # the client does not read: nothing more goes out
        sender.cancel()
    await asyncio.wait((sender,), timeout=SEND_GRACE_S)
    if not sender.done():
        sender.cancel()


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
