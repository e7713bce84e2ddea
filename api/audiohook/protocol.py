"""AudioHook protocol v2 messages: durations, media negotiation and the checks on client messages.

Facts from the public specification: every text message has ``version`` "2", the session ``id``,
``type``, ``seq`` and ``parameters``; client messages also carry ``serverseq`` (the last server seq
seen) and ``position`` (stream time, ISO 8601 ``PT1.25S``); server messages carry ``clientseq``
(the last client seq seen). Audio is binary frames of interleaved samples in the negotiated format.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from typing import Any

from qa_engine.pii import mask_text

VERSION = "2"
CLIENT_TYPES = ("open", "close", "ping", "paused", "resumed", "discarded", "update", "error")
NULL_UUID = "00000000-0000-0000-0000-000000000000"
_DURATION = re.compile(r"^PT(\d+(?:\.\d+)?)S$")
#: Channel layouts we accept, each PCMU 8000 Hz (stereo first, then either party alone).
SUPPORTED_CHANNELS = (("external", "internal"), ("internal", "external"), ("external",), ("internal",))
RATE = 8000
SHOWN_CHARS = 40


class ProtocolError(Exception):
    """A client message breaks the protocol (answered with ``disconnect`` reason ``error``)."""


def shown(value: Any) -> str:
    """A client's value as an error message quotes it: short (a 60 kB string is not echoed) and PII-masked."""
    text = repr(value)
    return mask_text(text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "...")


def parse_duration(value: Any, field: str = "position") -> float:
    """``PT1.5S`` -> 1.5 seconds.

    Raises:
        ProtocolError: not an ISO 8601 duration in seconds, or too large to be a number (``PT`` and 400 nines).
    """
    m = _DURATION.match(value) if isinstance(value, str) else None
    if not m:
        raise ProtocolError(f"'{field}' must be an ISO 8601 duration in seconds like 'PT1.5S' (got {shown(value)})")
    seconds = float(m.group(1))
    if not math.isfinite(seconds):
        raise ProtocolError(f"'{field}' must be a finite duration (got {shown(value)})")
    return seconds


def format_duration(seconds: float) -> str:
    """1.5 -> ``PT1.5S`` (millisecond precision, no trailing zeros)."""
    text = f"{max(seconds, 0.0):.3f}".rstrip("0").rstrip(".")
    return f"PT{text}S"


def is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Media:
    """The negotiated audio format."""

    format: str
    rate: int
    channels: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {"type": "audio", "format": self.format, "channels": list(self.channels), "rate": self.rate}


def select_media(offered: Any) -> Media | None:
    """The first offered format we support (PCMU 8000 Hz, stereo or one party), in the client's order.

    Raises:
        ProtocolError: ``media`` is not a list of media objects.
    """
    if not isinstance(offered, list):
        raise ProtocolError("open parameter 'media' must be a list")
    for entry in offered:
        if not isinstance(entry, dict):
            raise ProtocolError("open parameter 'media' must hold objects")
        channels = entry.get("channels")
        if (entry.get("type") == "audio" and entry.get("format") == "PCMU" and entry.get("rate") == RATE
                and isinstance(channels, list) and tuple(channels) in SUPPORTED_CHANNELS):
            return Media("PCMU", RATE, tuple(channels))
    return None


def check_client_message(msg: Any, *, session_id: str, clientseq: int, serverseq: int) -> dict[str, Any]:
    """Validate the envelope of a client message (not its parameters).

    Raises:
        ProtocolError: wrong version, session id, type, a seq that is not ``clientseq + 1``, a
            ``serverseq`` above what we sent, a bad ``position`` or non-object ``parameters``.
    """
    if not isinstance(msg, dict):
        raise ProtocolError("message is not a JSON object")
    if msg.get("version") != VERSION:
        raise ProtocolError(f"unsupported protocol version {shown(msg.get('version'))} (expected '2')")
    if msg.get("id") != session_id:
        raise ProtocolError("message 'id' does not match the session id (audiohook-session-id header)")
    kind = msg.get("type")
    if kind not in CLIENT_TYPES:
        raise ProtocolError(f"{shown(kind)} is not a client message type")
    seq, sseq = msg.get("seq"), msg.get("serverseq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq != clientseq + 1:
        raise ProtocolError(f"'seq' must be {clientseq + 1} (got {shown(seq)})")
    if not isinstance(sseq, int) or isinstance(sseq, bool) or not 0 <= sseq <= serverseq:
        raise ProtocolError(f"'serverseq' must be between 0 and {serverseq} (got {shown(sseq)})")
    parse_duration(msg.get("position"))
    if not isinstance(msg.get("parameters"), dict):
        raise ProtocolError("'parameters' must be an object")
    return msg
