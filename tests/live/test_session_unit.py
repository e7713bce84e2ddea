"""The session state machine without a socket: server-initiated pause/resume, events, states."""

from __future__ import annotations

import json
import uuid
from typing import Any

import numpy as np
import pytest

from api.audiohook.connection import AudiohookConnection
from api.audiohook.protocol import Media, format_duration, parse_duration

SID = str(uuid.uuid4())


class Recorder:
    def __init__(self) -> None:
        self.audio_s = 0.0
        self.gaps: list[float] = []
        self.closed_with: str | None = None

    def opened(self, params: dict[str, Any], media: Media | None) -> None:
        self.media = media

    def audio(self, pcm: np.ndarray, raw: bytes) -> None:
        self.audio_s += pcm.shape[1] / 8000

    def gap(self, seconds: float) -> None:
        self.gaps.append(seconds)

    def closed(self, reason: str) -> None:
        self.closed_with = reason


def _client(session: AudiohookConnection, seq: int, kind: str, params: dict[str, Any] | None = None) -> list[dict]:
    msg = {"version": "2", "id": SID, "type": kind, "seq": seq, "serverseq": session.seq,
           "position": format_duration(session.position), "parameters": params or {}}
    return session.on_text(json.dumps(msg))


def _open(session: AudiohookConnection) -> None:
    out = _client(session, 1, "open", {"organizationId": str(uuid.uuid4()), "conversationId": str(uuid.uuid4()),
                                       "participant": {}, "media": [{"type": "audio", "format": "PCMU",
                                                                     "channels": ["external", "internal"],
                                                                     "rate": 8000}]})
    assert out[0]["type"] == "opened"


def test_server_pause_resume_and_positions() -> None:
    handler = Recorder()
    session = AudiohookConnection(SID, handler)
    _open(session)
    session.on_binary(b"\xff" * 3200)  # 0.2 s stereo
    assert session.position == 0.2 and handler.audio_s == 0.2
    pause = session.pause()
    assert pause[0]["type"] == "pause" and pause[0]["seq"] == 2
    assert _client(session, 2, "paused") == [] and session.state == "paused"
    # audio in flight when the client paused is discarded, not a protocol error: not recorded, the position stays
    assert session.on_binary(b"\xff" * 1600) == [] and session.state == "paused"
    assert session.position == 0.2 and handler.audio_s == 0.2
    _client(session, 3, "resumed", {"start": "PT0.2S", "discarded": "PT1S"})
    assert session.on_binary(b"\xff" * 1600) == [] and session.state == "active"
    assert session.position == 0.3 and handler.audio_s == pytest.approx(0.3) and handler.gaps == [1.0]


def test_resume_reports_discarded_gap_and_events_only_while_open() -> None:
    handler = Recorder()
    session = AudiohookConnection(SID, handler)
    assert session.event([{"type": "transcript", "data": {}}]) == []  # not open yet
    _open(session)
    session.pause()
    _client(session, 2, "paused")
    resume = session.resume()
    assert resume[0]["type"] == "resume"
    _client(session, 3, "resumed", {"start": "PT0S", "discarded": "PT1.25S"})
    assert session.state == "active" and handler.gaps == [1.25]
    ev = session.event([{"type": "transcript", "data": {}}])
    assert ev[0]["type"] == "event" and ev[0]["clientseq"] == 3
    assert _client(session, 4, "close", {"reason": "end"}) == [] and session.state == "closing"
    assert handler.closed_with == "end"
    closed = session.complete_close()
    assert closed[0]["type"] == "closed" and session.state == "closed"


def test_odd_frame_length_and_bad_resumed_parameters() -> None:
    session = AudiohookConnection(SID, Recorder())
    _open(session)
    assert session.on_binary(b"\xff" * 3)[0]["parameters"]["reason"] == "error"
    session = AudiohookConnection(SID, Recorder())
    _open(session)
    _client(session, 2, "paused")
    out = _client(session, 3, "resumed", {"start": "1.5", "discarded": "PT0S"})
    assert out[0]["type"] == "disconnect" and "ISO 8601" in out[0]["parameters"]["info"]


def test_durations() -> None:
    assert parse_duration("PT1.5S") == 1.5 and parse_duration("PT0S") == 0.0
    assert format_duration(1.5) == "PT1.5S" and format_duration(2.0) == "PT2S" and format_duration(0.0001) == "PT0S"
