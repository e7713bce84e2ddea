"""Hostile AudioHook clients found by benchmarks/fuzz_audiohook.py, against the real server (uvicorn, loopback).

Each case once crashed the session with a server-side exception, held a connection forever, stalled every other
session, or stored a client's free text unmasked; now each gets a ``disconnect`` (reason ``error``) whose ``info``
names the problem, or a close code when the client stops talking.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from qa_engine.app.models import Job

from .conftest import LiveServer
from .test_audiohook_protocol import SILENCE_100MS_STEREO, Peer, _headers, run

ws_router = importlib.import_module("api.audiohook.router")  # the package's ``router`` attribute is the APIRouter


async def _disconnect_info(peer: Peer) -> str:
    msg = await peer.recv(10)
    assert msg["type"] == "disconnect" and msg["parameters"]["reason"] == "error", msg
    info: str = msg["parameters"]["info"]
    await peer.send("close", {"reason": "error"})
    assert (await peer.recv())["type"] == "closed"
    return info


def _session(server: LiveServer, scenario: Any) -> None:
    sid = str(uuid.uuid4())

    async def main() -> None:
        async with connect(server.ws_url, additional_headers=_headers(server, sid), max_size=None) as ws:
            await scenario(Peer(ws, sid))

    run(main())


def _server_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_deeply_nested_json_is_a_protocol_error_not_a_crash(make_server: Any,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    server = make_server()

    async def scenario(peer: Peer) -> None:
        await peer.ws.send("[" * 30000 + "]" * 30000)
        assert "nested too deeply" in await _disconnect_info(peer)

    _session(server, scenario)
    assert not _server_errors(caplog)


def test_infinite_durations_are_refused(make_server: Any, caplog: pytest.LogCaptureFixture) -> None:
    server = make_server()
    infinite = "PT" + "9" * 400 + "S"  # float() of it is inf

    async def scenario(peer: Peer) -> None:
        await peer.open()
        await peer.audio(2)
        await peer.send("discarded", {"start": "PT0S", "discarded": infinite})
        assert "'discarded' must be a finite duration" in await _disconnect_info(peer)

    _session(server, scenario)
    assert not _server_errors(caplog)


def test_discarded_longer_than_the_longest_call_is_refused(make_server: Any) -> None:
    """One message must not make the server write hours of silence and queue hours of scoring."""
    server = make_server()

    async def scenario(peer: Peer) -> None:
        await peer.open()
        await peer.audio(2)
        await peer.send("discarded", {"start": "PT0.2S", "discarded": "PT1000000000S"})
        info = await _disconnect_info(peer)
        assert "'discarded'" in info and "longest call" in info

    _session(server, scenario)


def test_oversized_audio_frame_is_refused_without_stalling_other_sessions(make_server: Any) -> None:
    server = make_server()

    async def scenario(peer: Peer) -> None:
        await peer.open()
        await peer.ws.send(b"\xff" * (15 << 20))  # 16 minutes of stereo audio in one frame
        info = await asyncio.wait_for(_disconnect_info(peer), 3)
        assert "audio frame of 15728640 bytes" in info and "at most" in info

    _session(server, scenario)


def test_a_client_that_never_opens_is_disconnected_then_closed(make_server: Any,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ws_router, "OPEN_TIMEOUT_S", 0.5)
    server = make_server()

    async def scenario(peer: Peer) -> None:
        msg = await peer.recv(5)
        assert msg["type"] == "disconnect" and "no 'open' message within 0.5 s" in msg["parameters"]["info"]
        with pytest.raises(ConnectionClosed) as closed:  # nor does it answer the disconnect with 'close'
            await peer.recv(5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008

    _session(server, scenario)


def test_close_reason_is_masked_and_must_be_a_string(make_server: Any) -> None:
    server = make_server()

    async def bad_reason(peer: Peer) -> None:
        await peer.open()
        await peer.send("close", {"reason": {"x": 1}})
        assert "close parameter 'reason' must be a string" in await _disconnect_info(peer)

    async def phone_in_reason(peer: Peer) -> None:
        await peer.open()
        await peer.ws.send(SILENCE_100MS_STEREO)
        await peer.send("close", {"reason": "caller 13812345678 hung up" + "!" * 500})
        assert (await peer.recv())["type"] == "closed"

    _session(server, bad_reason)
    _session(server, phone_in_reason)
    with server.app.state.session_factory() as db:
        reasons = [job.payload["reason"] for job in db.scalars(select(Job))]
    stored = json.dumps(reasons)
    assert "13812345678" not in stored and any("caller" in r for r in reasons), reasons
    assert max(len(r) for r in reasons) <= 64
