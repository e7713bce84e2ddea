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


def _stored_reasons(server: LiveServer) -> list[str]:
    with server.app.state.session_factory() as db:
        return [job.payload["reason"] for job in db.scalars(select(Job))]


def test_an_open_session_left_silent_is_ended_and_its_call_stored(make_server: Any, live_settings: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Once it held the connection, its live call and a worker slot for ever (no limit after 'open')."""
    live_settings.audiohook_idle_timeout_s = 0.5
    server = make_server()

    async def answers_the_disconnect(peer: Peer) -> None:
        await peer.open()
        await peer.audio(3)
        await peer.send("ping", {})
        assert (await peer.recv())["type"] == "pong"
        info = await _disconnect_info(peer)  # ... then nothing for 0.5 s
        assert "nothing received for 0.5 s" in info and "QA_ENGINE_AUDIOHOOK_IDLE_TIMEOUT_S" in info, info

    async def stays_silent(peer: Peer) -> None:  # paused, then gone quiet: the limit holds in 'paused' too
        await peer.open()
        await peer.audio(2)
        await peer.send("paused", {})
        msg = await peer.recv(5)
        assert msg["type"] == "disconnect" and "idle limit" in msg["parameters"]["info"], msg
        with pytest.raises(ConnectionClosed) as closed:  # no 'close' from the client: the server lets go
            await peer.recv(5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008

    monkeypatch.setattr(ws_router, "OPEN_TIMEOUT_S", 0.5)
    _session(server, answers_the_disconnect)
    _session(server, stays_silent)
    assert asyncio.run(_wait_for(lambda: _stored_reasons(server) == ["idle", "idle"])), _stored_reasons(server)


async def _wait_for(check: Any, timeout_s: float = 5.0) -> bool:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while not check():
        if loop.time() > end:
            return False
        await asyncio.sleep(0.05)
    return True


def test_a_client_that_pings_without_reading_is_cut_off(make_server: Any, monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """Once every pong was queued for it without limit: the server held all that the client made it answer.

    Driven through the app's ASGI interface so that "does not read" is exact: past the ``opened`` answer the
    server's sends never complete, as over a socket whose peer stopped reading (uvicorn's send waits for the
    transport to drain); the client goes on pinging as fast as the server takes messages.
    """
    monkeypatch.setattr(ws_router, "OUTBOX_MAX", 16)
    server = make_server()
    sid = str(uuid.uuid4())
    headers = _headers(server, sid)
    path = "/api/v1/audiohook/ws"
    scope = {"type": "websocket", "asgi": {"version": "3.0"}, "scheme": "ws", "http_version": "1.1",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", server.port), "subprotocols": [],
             "headers": [(k.lower().encode("latin-1"), v.encode("latin-1"))
                         for k, v in {**headers, "host": f"127.0.0.1:{server.port}"}.items()]}
    org, conv = str(uuid.uuid4()), str(uuid.uuid4())
    sent: list[dict[str, Any]] = []
    closes: list[dict[str, Any]] = []
    taken = 0

    def text(kind: str, seq: int, params: dict[str, Any]) -> dict[str, Any]:
        return {"type": "websocket.receive", "text": json.dumps({
            "version": "2", "id": sid, "type": kind, "seq": seq, "serverseq": 0, "position": "PT0.2S",
            "parameters": params})}

    async def receive() -> dict[str, Any]:
        nonlocal taken
        taken += 1
        await asyncio.sleep(0)
        if taken == 1:
            return {"type": "websocket.connect"}
        if taken == 2:
            return text("open", 1, {"organizationId": org, "conversationId": conv, "participant": {"id": org},
                                    "media": [{"type": "audio", "format": "PCMU", "channels": ["external",
                                              "internal"], "rate": 8000}]})
        if taken in (3, 4):
            return {"type": "websocket.receive", "bytes": SILENCE_100MS_STEREO}
        if taken > 100_000:
            return {"type": "websocket.disconnect", "code": 1000}
        return text("ping", taken - 3, {})

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "websocket.close":
            closes.append(message)
        if message["type"] in ("websocket.send", "websocket.close") and sent:
            await asyncio.Event().wait()  # the client no longer reads: never done
        if message["type"] == "websocket.send":
            sent.append(json.loads(message["text"]))

    with caplog.at_level(logging.WARNING, logger="api.audiohook.router"):
        run(asyncio.wait_for(server.app(scope, receive, send), 10))
    assert [m["type"] for m in sent] == ["opened"]
    assert taken < 100, taken  # cut off right after the queue limit: what it held stayed bounded
    assert closes and closes[0]["code"] == 1008 and "not reading" in closes[0]["reason"], closes
    assert any("does not read" in r.getMessage() for r in caplog.records)
    assert asyncio.run(_wait_for(lambda: _stored_reasons(server) == ["not_reading"])), _stored_reasons(server)
