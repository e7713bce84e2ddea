"""The server side of one AudioHook session: states, sequence numbers and positions.

Transport-free on purpose: ``on_text`` / ``on_binary`` take what arrived and return the messages to
send, so the state machine is tested without a socket and the WebSocket endpoint stays a thin loop.
The application is reached through :class:`ConnectionHandler` (open, audio, gaps, close).

States: ``connected`` -> (open) ``active`` <-> ``paused`` -> (close) ``closing`` -> ``closed``; a protocol error
sends ``disconnect`` (reason ``error``) and moves to ``error``, after which only ``close`` is
answered. The position is the stream time of the audio received (samples / rate).
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

import numpy as np

from api.audiohook.protocol import (
    NULL_UUID,
    VERSION,
    Media,
    ProtocolError,
    check_client_message,
    format_duration,
    is_uuid,
    parse_duration,
    select_media,
)
from qa_engine.live.codec import deinterleave

logger = logging.getLogger(__name__)
MAX_TEXT = 65535
Message = dict[str, Any]


class ConnectionHandler(Protocol):
    """What the application does with a session's events."""

    def opened(self, params: dict[str, Any], media: Media | None) -> None: ...  # may raise ProtocolError
    def audio(self, pcm: np.ndarray, raw: bytes) -> None: ...  # int16 (channels, n) and the frame as sent
    def gap(self, seconds: float) -> None: ...  # audio discarded by the client
    def closed(self, reason: str) -> None: ...  # close message or dropped connection (reason 'disconnect')


class AudiohookConnection:
    """Protocol state of one connection (``session_id`` from the audiohook-session-id header)."""

    def __init__(self, session_id: str, handler: ConnectionHandler) -> None:
        self.id = session_id
        self.handler = handler
        self.state = "connected"
        self.seq = 0
        self.clientseq = 0
        self.media: Media | None = None
        self.samples = 0
        self.discarded_s = 0.0
        self.server_paused = False
        self.finished = False

    @property
    def position(self) -> float:
        return self.samples / self.media.rate if self.media else 0.0

    def _message(self, kind: str, parameters: dict[str, Any]) -> Message:
        self.seq += 1
        return {"version": VERSION, "id": self.id, "type": kind, "seq": self.seq, "clientseq": self.clientseq,
                "parameters": parameters}

    def _error(self, info: str) -> list[Message]:
        logger.info("audiohook session %s: client error: %s", self.id, info)
        if self.state in ("error", "closed"):
            return []
        self.state = "error"
        return [self._message("disconnect", {"reason": "error", "info": info})]

    # -- server-initiated ------------------------------------------------------------------
    def pause(self) -> list[Message]:
        """Ask the client to pause the stream (it answers ``paused``)."""
        if self.state not in ("active", "paused"):
            return []
        self.server_paused = True
        return [self._message("pause", {})]

    def resume(self) -> list[Message]:
        """End a server-initiated pause (the client answers ``resumed``, or ``paused`` if it paused too)."""
        if self.state not in ("active", "paused"):
            return []
        self.server_paused = False
        return [self._message("resume", {})]

    def event(self, entities: list[dict[str, Any]]) -> list[Message]:
        """An ``event`` message (e.g. transcripts) while the session is open or closing."""
        if self.state not in ("active", "paused", "closing"):
            return []
        return [self._message("event", {"entities": entities})]

    def connection_lost(self) -> None:
        """The socket went away: the application finalises with what it received."""
        if not self.finished and self.state != "connected":
            self.finished = True
            self.handler.closed("disconnect")

    # -- client messages -------------------------------------------------------------------
    def on_text(self, text: str) -> list[Message]:
        if len(text) > MAX_TEXT:
            return self._error(f"text message too large ({len(text)} > {MAX_TEXT} characters)")
        try:
            msg = json.loads(text)
        except ValueError:
            return self._error("text message is not valid JSON")
        if self.state == "connected" and isinstance(msg, dict) and msg.get("id") != self.id and is_uuid(msg.get("id")):
            return self._error("message 'id' does not match the audiohook-session-id header")
        try:
            check_client_message(msg, session_id=self.id, clientseq=self.clientseq, serverseq=self.seq)
        except ProtocolError as exc:
            return self._error(str(exc))
        self.clientseq = msg["seq"]
        kind, params = msg["type"], msg["parameters"]
        if self.state == "error":  # after a disconnect only the client's close is answered
            return self._on_close(params) if kind == "close" else []
        if self.state in ("closing", "closed"):
            return self._error(f"'{kind}' received after 'close'") if kind != "close" else []
        if self.state == "connected" and kind != "open":
            return self._error(f"the first message must be 'open' (got '{kind}')")
        try:
            return getattr(self, f"_on_{kind}")(params)
        except ProtocolError as exc:
            return self._error(str(exc))

    def on_binary(self, data: bytes) -> list[Message]:
        if self.state != "active":
            return self._error(f"audio received in state '{self.state}'") if self.state != "error" else []
        if self.media is None:
            return self._error("audio received but no media was negotiated")
        try:
            pcm = deinterleave(data, len(self.media.channels))
        except ValueError as exc:
            return self._error(str(exc))
        self.samples += pcm.shape[1]
        self.handler.audio(pcm, data)
        return []

    def _on_open(self, params: dict[str, Any]) -> list[Message]:
        if self.state != "connected":
            raise ProtocolError("'open' was already received")
        for name in ("organizationId", "conversationId"):
            if not is_uuid(params.get(name)):
                raise ProtocolError(f"open parameter '{name}' must be a UUID")
        if not isinstance(params.get("participant"), dict):
            raise ProtocolError("open parameter 'participant' must be an object")
        if "customConfig" in params and not isinstance(params["customConfig"], dict):
            raise ProtocolError("open parameter 'customConfig' must be an object")
        self.media = select_media(params.get("media"))
        probe = params.get("conversationId") == NULL_UUID  # connection probe: accept, expect a close
        self.handler.opened(params, None if probe else self.media)
        self.state = "active"
        return [self._message("opened", {"media": [self.media.as_json()] if self.media else [],
                                         "startPaused": False})]

    def _on_ping(self, _params: dict[str, Any]) -> list[Message]:
        return [self._message("pong", {})]

    def _on_update(self, params: dict[str, Any]) -> list[Message]:
        if "language" in params and not isinstance(params["language"], str):
            raise ProtocolError("update parameter 'language' must be a string")
        return []

    def _on_error(self, params: dict[str, Any]) -> list[Message]:
        logger.warning("audiohook session %s: client reported error %s: %s", self.id, params.get("code"),
                       params.get("message"))
        return []

    def _on_paused(self, _params: dict[str, Any]) -> list[Message]:
        if self.state == "active":
            self.state = "paused"
        return []

    def _on_resumed(self, params: dict[str, Any]) -> list[Message]:
        start = parse_duration(params.get("start"), "start")
        discarded = parse_duration(params.get("discarded"), "discarded")
        if self.state == "paused":
            self.state = "active"
        self._gap(start, discarded)
        return []

    def _on_discarded(self, params: dict[str, Any]) -> list[Message]:
        start = parse_duration(params.get("start"), "start")
        discarded = parse_duration(params.get("discarded"), "discarded")
        self._gap(start, discarded)
        return []

    def _gap(self, start: float, discarded: float) -> None:
        if discarded > 0:
            logger.info("audiohook session %s: %.3f s discarded at %s", self.id, discarded, format_duration(start))
            self.discarded_s += discarded
            self.handler.gap(discarded)

    def _on_close(self, params: dict[str, Any]) -> list[Message]:
        """Start the close transaction; ``closed`` is sent by :meth:`complete_close` once the call is finalised."""
        if self.state in ("closing", "closed"):
            return []
        reason = params.get("reason", "end")
        if not self.finished:
            self.finished = True
            self.handler.closed(str(reason))
        self.state = "closing"
        return []

    def complete_close(self) -> list[Message]:
        """End the close transaction (after the application finalised the call)."""
        if self.state != "closing":
            return []
        self.state = "closed"
        return [self._message("closed", {})]
