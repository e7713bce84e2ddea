"""The server side of one AudioHook session: states, sequence numbers and positions.

Transport-free on purpose: ``on_text`` / ``on_binary`` take what arrived and return the messages to
send, so the state machine is tested without a socket and the WebSocket endpoint stays a thin loop.
The application is reached through :class:`ConnectionHandler` (open, audio, gaps, close).

States: ``connected`` -> (open) ``active`` <-> ``paused`` -> (close) ``closing`` -> ``closed``; a protocol error, or
an open session in which nothing arrives for the idle limit (:meth:`AudiohookConnection.idle`), sends ``disconnect``
(reason ``error``) and moves to ``error``, after which only ``close`` is answered. The position is the stream time
of the audio received (samples / rate); audio frames that arrive while ``paused`` are discarded (not recorded, the
position stays), the client's ``resumed`` says how long the gap was.
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
    shown,
)
from qa_engine.live.codec import deinterleave
from qa_engine.pii import mask_text

logger = logging.getLogger(__name__)
MAX_TEXT = 65535
#: Longest audio one binary frame may carry: clients send 20-200 ms; a bigger frame is decoded on the event loop
#: and would stall every other session (16 minutes of audio in one frame took 7 s).
MAX_FRAME_S = 5.0
MAX_REASON = 64  # characters of a close reason kept (it is stored with the call and shown on the live feed)
Message = dict[str, Any]


class ConnectionHandler(Protocol):
    """What the application does with a session's events."""

    def opened(self, params: dict[str, Any], media: Media | None) -> None: ...  # may raise ProtocolError
    def audio(self, pcm: np.ndarray, raw: bytes) -> None: ...  # int16 (channels, n) and the frame as sent
    def gap(self, seconds: float) -> None: ...  # audio discarded by the client (may raise ProtocolError)
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
        self.discarded_frames = 0  # audio frames received while paused, dropped
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
        self.end("disconnect")

    def end(self, reason: str) -> None:
        """The call ends here with ``reason`` (once; the first reason given is the one kept), the session stays for
        whatever the client still sends (only its ``close`` is answered once a ``disconnect`` went out)."""
        if not self.finished and self.state != "connected":
            self.finished = True
            self.handler.closed(reason)

    def idle(self, seconds: float) -> list[Message]:
        """Nothing (no audio, no ``ping``, no message) arrived for ``seconds`` in an open session, active or paused:
        the call ends with what was received (reason ``idle``) and the client is told why with a ``disconnect``."""
        if self.state not in ("active", "paused"):
            return []
        self.end("idle")
        return self._error(f"nothing received for {seconds:g} s (no audio, no ping): the session idle limit "
                           f"(QA_ENGINE_AUDIOHOOK_IDLE_TIMEOUT_S)")

    # -- client messages -------------------------------------------------------------------
    def on_text(self, text: str) -> list[Message]:
        if len(text) > MAX_TEXT:
            return self._error(f"text message too large ({len(text)} > {MAX_TEXT} characters)")
        try:
            msg = json.loads(text)
        except ValueError:
            return self._error("text message is not valid JSON")
        except RecursionError:
            return self._error("text message is not valid JSON (nested too deeply)")
        if self.state == "connected" and isinstance(msg, dict) and msg.get("id") != self.id and is_uuid(msg.get("id")):
            return self._error("message 'id' does not match the audiohook-session-id header")
        try:
            check_client_message(msg, session_id=self.id, clientseq=self.clientseq, serverseq=self.seq)
        except ProtocolError as exc:
            return self._error(str(exc))
        self.clientseq = msg["seq"]
        kind, params = msg["type"], msg["parameters"]
        if self.state == "error":  # after a disconnect only the client's close is answered
            return self._on_close({"reason": "error"}) if kind == "close" else []
        if self.state in ("closing", "closed"):
            return self._error(f"'{kind}' received after 'close'") if kind != "close" else []
        if self.state == "connected" and kind != "open":
            return self._error(f"the first message must be 'open' (got '{kind}')")
        try:
            return getattr(self, f"_on_{kind}")(params)
        except ProtocolError as exc:
            return self._error(str(exc))

    def on_binary(self, data: bytes) -> list[Message]:
        if self.state == "paused":  # in flight when the client paused: dropped, not worth ending a legitimate call
            self.discarded_frames += 1
            return []
        if self.state != "active":
            return self._error(f"audio received in state '{self.state}'") if self.state != "error" else []
        if self.media is None:
            return self._error("audio received but no media was negotiated")
        limit = int(MAX_FRAME_S * self.media.rate) * len(self.media.channels)
        if len(data) > limit:
            return self._error(f"audio frame of {len(data)} bytes is longer than {MAX_FRAME_S:g} s of audio "
                               f"(at most {limit} bytes)")
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
        if self.discarded_frames:
            logger.info("audiohook session %s: %d audio frame(s) received while paused were discarded", self.id,
                        self.discarded_frames)
            self.discarded_frames = 0
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
        reason = _close_reason(params)
        if not self.finished:
            self.finished = True
            self.handler.closed(reason)
        self.state = "closing"
        return []

    def timed_out(self, seconds: float) -> list[Message]:
        """Nothing arrived for ``seconds`` before ``open``: the client is told why (a hostile or stuck one)."""
        if self.state != "connected":
            return []
        return self._error(f"no 'open' message within {seconds:g} s of connecting")

    def complete_close(self) -> list[Message]:
        """End the close transaction (after the application finalised the call)."""
        if self.state != "closing":
            return []
        self.state = "closed"
        return [self._message("closed", {})]


def _close_reason(params: dict[str, Any]) -> str:
    """The client's close reason as kept: its free text is stored and shown, so PII-masked and short.

    Raises:
        ProtocolError: the reason is not a string.
    """
    reason = params.get("reason", "end")
    if not isinstance(reason, str):
        raise ProtocolError(f"close parameter 'reason' must be a string (got {shown(reason)})")
    return mask_text(reason.strip())[:MAX_REASON] or "end"
