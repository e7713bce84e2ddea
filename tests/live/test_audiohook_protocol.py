"""AudioHook protocol against the real server (uvicorn, loopback) with a plain WebSocket client.

The messages are written out here by hand (not with qa_engine.live.client), so the server is checked
against the protocol, not against our own client. No speech model is needed: the audio is silence.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from qa_engine.app.models import Call, Job
from qa_engine.commands.audiohook_client import signed_headers

from .conftest import LiveServer

SILENCE_100MS_STEREO = b"\xff" * 1600
PCMU_STEREO = {"type": "audio", "format": "PCMU", "channels": ["external", "internal"], "rate": 8000}


class Peer:
    """A hand-rolled AudioHook client session: tracks seq/serverseq/position as the spec says."""

    def __init__(self, ws: ClientConnection, session_id: str) -> None:
        self.ws, self.id = ws, session_id
        self.seq = 0
        self.serverseq = 0
        self.position = 0.0

    async def send(self, kind: str, parameters: dict[str, Any] | None = None, **override: Any) -> None:
        self.seq += 1
        msg = {"version": "2", "id": self.id, "type": kind, "seq": self.seq, "serverseq": self.serverseq,
               "position": f"PT{self.position:g}S", "parameters": parameters or {}, **override}
        await self.ws.send(json.dumps(msg))

    async def audio(self, frames: int = 1) -> None:
        for _ in range(frames):
            await self.ws.send(SILENCE_100MS_STEREO)
            self.position = round(self.position + 0.1, 3)

    async def recv(self, timeout: float = 20.0) -> dict[str, Any]:
        msg: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        assert msg["id"] == self.id and msg["version"] == "2"
        assert msg["seq"] == self.serverseq + 1, "server seq must grow by one"
        assert msg["clientseq"] == self.seq, "clientseq must echo the last client seq"
        self.serverseq = msg["seq"]
        return msg

    async def open(self, media: list[dict[str, Any]] | None = None, **params: Any) -> dict[str, Any]:
        await self.send("open", {"organizationId": str(uuid.uuid4()), "conversationId": str(uuid.uuid4()),
                                 "participant": {"id": str(uuid.uuid4()), "ani": "+861380000", "aniName": "",
                                                 "dnis": "+8610"},
                                 "media": media if media is not None else [PCMU_STEREO], "language": "zh-CN",
                                 **params})
        return await self.recv()


def _headers(server: LiveServer, session_id: str, **kw: Any) -> dict[str, str]:
    return signed_headers(server.ws_url, kw.pop("api_key", server.client.api_key),
                          kw.pop("secret", server.client.client_secret), organization_id=str(uuid.uuid4()),
                          session_id=session_id, **kw)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_open_negotiates_first_supported_media_in_offered_order(make_server: Any) -> None:
    server = make_server()

    async def scenario() -> None:
        sid = str(uuid.uuid4())
        async with connect(server.ws_url, additional_headers=_headers(server, sid)) as ws:
            peer = Peer(ws, sid)
            offered = [{"type": "audio", "format": "L16", "channels": ["external", "internal"], "rate": 8000},
                       {"type": "audio", "format": "PCMU", "channels": ["internal"], "rate": 8000}, PCMU_STEREO]
            opened = await peer.open(offered)
            assert opened["type"] == "opened" and opened["seq"] == 1 and opened["clientseq"] == 1
            assert opened["parameters"]["media"] == [offered[1]]
            assert opened["parameters"]["startPaused"] is False
            await peer.send("close", {"reason": "end"})
            assert (await peer.recv())["type"] == "closed"

    run(scenario())


def test_no_supported_media_opens_with_empty_media(make_server: Any) -> None:
    server = make_server()

    async def scenario() -> None:
        sid = str(uuid.uuid4())
        async with connect(server.ws_url, additional_headers=_headers(server, sid)) as ws:
            peer = Peer(ws, sid)
            opened = await peer.open([{"type": "audio", "format": "L16", "channels": ["external"], "rate": 16000}])
            assert opened["parameters"]["media"] == []
            await peer.send("close", {"reason": "end"})
            assert (await peer.recv())["type"] == "closed"

    run(scenario())


@pytest.mark.parametrize("case", ["unknown_key", "bad_signature", "stale", "unsigned", "no_api_key"])
def test_signature_failures_are_refused_with_401(make_server: Any, case: str) -> None:
    server = make_server()
    sid = str(uuid.uuid4())
    if case == "unknown_key":
        headers = _headers(server, sid, api_key="not-a-client-key")
    elif case == "bad_signature":
        headers = _headers(server, sid, secret="V3JvbmdTZWNyZXRWM29uZ1NlY3JldFdyb25nU2VjcmV0")
    elif case == "stale":
        headers = _headers(server, sid, created=int(time.time()) - 120)
    else:
        headers = _headers(server, sid)
        del headers["signature"], headers["signature-input"]
        if case == "no_api_key":
            del headers["x-api-key"]

    async def scenario() -> None:
        async with connect(server.ws_url, additional_headers=headers):
            pass

    with pytest.raises(InvalidStatus) as info:
        run(scenario())
    assert info.value.response.status_code == 401


def test_ping_pause_resume_discarded_close_sequence_and_positions(make_server: Any) -> None:
    server = make_server()
    sid = str(uuid.uuid4())

    async def scenario() -> None:
        async with connect(server.ws_url, additional_headers=_headers(server, sid)) as ws:
            peer = Peer(ws, sid)
            await peer.open(customConfig={"agent": "alice", "team": "t2"})
            await peer.audio(5)
            await peer.send("ping", {"rtt": "PT0.02S"})
            pong = await peer.recv()
            assert pong["type"] == "pong" and pong["seq"] == 2 and pong["clientseq"] == 2
            await peer.send("paused")
            await peer.send("resumed", {"start": f"PT{peer.position:g}S", "discarded": "PT2S"})
            await peer.audio(5)
            await peer.send("discarded", {"start": "PT1S", "discarded": "PT0.5S"})
            await peer.send("ping")
            assert (await peer.recv())["type"] == "pong"
            await peer.audio(2)
            await peer.send("close", {"reason": "end"})
            closed = await peer.recv()
            assert closed["type"] == "closed" and closed["clientseq"] == peer.seq

    run(scenario())
    with server.app.state.session_factory() as db:
        call = db.scalars(select(Call)).one()
        job = db.scalars(select(Job)).one()
    # 1.2 s of audio received + 2 s discarded during the pause + 0.5 s discarded: the stored call keeps call time
    assert call.duration == pytest.approx(3.7, abs=0.01)
    assert (call.agent, call.team, call.source, call.status) == ("alice", "t2", "audio", "queued")
    assert call.agent_channel == 0  # stored agent first
    assert job.kind == "score_audio" and job.call_pk == call.id and job.payload["reason"] == "end"


def test_supervisor_pause_and_resume_reach_the_client_in_sequence(make_server: Any) -> None:
    """POST /live/calls/{id}/pause|resume sends server-initiated pause/resume; only to those who see the call."""
    server = make_server()
    sid = str(uuid.uuid4())
    admin, outsider = server.user("boss", "admin"), server.user("sue", "supervisor", "t9")
    own_agent = server.user("alice", "agent", "t2")
    base = f"{server.http}/api/v1/live/calls/{sid}"

    def post(path: str, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(f"{base}/{path}", headers=headers, timeout=10)

    async def scenario() -> None:
        async with connect(server.ws_url, additional_headers=_headers(server, sid)) as ws:
            peer = Peer(ws, sid)
            await peer.open(customConfig={"agent": "alice", "team": "t2"})
            await peer.audio(3)
            assert (await asyncio.to_thread(post, "pause", outsider)).status_code == 404  # not her team
            assert (await asyncio.to_thread(post, "pause", own_agent)).status_code == 403  # her call, not her say
            assert (await asyncio.to_thread(post, "resume", own_agent)).status_code == 403
            answer = await asyncio.to_thread(post, "pause", admin)
            assert answer.status_code == 202 and answer.json() == {"session_id": sid, "sent": "pause"}
            pause = await peer.recv()
            assert pause["type"] == "pause" and pause["seq"] == 2
            await peer.send("paused")
            assert (await asyncio.to_thread(post, "resume", admin)).status_code == 202
            resume = await peer.recv()
            assert resume["type"] == "resume" and resume["clientseq"] == 2
            await peer.send("resumed", {"start": f"PT{peer.position:g}S", "discarded": "PT1S"})
            await peer.audio(2)
            await peer.send("close", {"reason": "end"})
            assert (await peer.recv())["type"] == "closed"
        # the session is over: nothing more to pause
        assert (await asyncio.to_thread(post, "pause", admin)).status_code in (404, 409)

    run(scenario())
    with server.app.state.session_factory() as db:
        call = db.scalars(select(Call)).one()
    assert call.duration == pytest.approx(1.5, abs=0.01)  # 0.5 s received + 1 s discarded during the pause


@pytest.mark.parametrize("first", ["ping", "bad_json", "wrong_seq", "audio", "wrong_id"])
def test_malformed_first_message_gets_disconnect_error(make_server: Any, first: str) -> None:
    server = make_server()
    sid = str(uuid.uuid4())

    async def scenario() -> None:
        async with connect(server.ws_url, additional_headers=_headers(server, sid)) as ws:
            peer = Peer(ws, sid)
            if first == "ping":
                await peer.send("ping")
            elif first == "bad_json":
                peer.seq += 1
                await ws.send("{not json")
            elif first == "wrong_seq":
                await peer.send("open", {}, seq=7)
            elif first == "wrong_id":
                await peer.send("open", {}, id=str(uuid.uuid4()))
            else:
                peer.seq = 0
                await ws.send(SILENCE_100MS_STEREO)
            raw: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 20))
            assert raw["type"] == "disconnect" and raw["parameters"]["reason"] == "error"
            assert raw["parameters"]["info"]
            # after the disconnect the client closes the session and the server answers 'closed'
            peer.seq = raw["clientseq"]
            peer.serverseq = raw["seq"]
            await peer.send("close", {"reason": "error"})
            assert (await peer.recv())["type"] == "closed"

    run(scenario())


def test_dropped_connection_still_stores_the_call(make_server: Any) -> None:
    server = make_server()
    sid = str(uuid.uuid4())

    async def scenario() -> None:
        async with connect(server.ws_url, additional_headers=_headers(server, sid)) as ws:
            peer = Peer(ws, sid)
            await peer.open()
            await peer.audio(10)
            await peer.send("ping")
            await peer.recv()
        # no close transaction: the socket just goes away

    run(scenario())
    deadline = time.monotonic() + 20
    call = None
    while time.monotonic() < deadline and call is None:
        with server.app.state.session_factory() as db:
            call = db.scalars(select(Call)).first()
        time.sleep(0.05)
    assert call is not None and call.duration == pytest.approx(1.0, abs=0.01)
    assert call.agent == "audiohook:genesys-test" and call.team == "t1"  # the client's defaults
