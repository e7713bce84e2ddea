"""Fuzz the AudioHook live tap of a real ``qa-engine serve`` (fresh data dir, 127.0.0.1, no job workers).

Each case is one hostile or broken client on its own connection: malformed JSON, valid JSON of the wrong shape,
messages out of order, odd binary frames, oversized frames, slow senders, abrupt disconnects, many connections.
For each case the table says what the server did (a ``disconnect`` message with its reason, ``closed``, a close
code, or a hang: nothing for 5 s), whether the server logged an error or traceback meanwhile (a bug), how much
its memory grew, and whether a normal session run at the same time on another connection still completed.
At the end the server log and database are searched for a phone number the cases sent (a PII leak if found).

    .venv/bin/python benchmarks/fuzz_audiohook.py [--seed 7] [--out benchmarks/results/audiohook_fuzz.md]

Silence is the only audio sent: no speech model is loaded, and the run takes about two minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_abuse import Server  # noqa: E402
from qa_engine.commands.audiohook_client import signed_headers  # noqa: E402

HANG_S = 5.0
#: The idle limit the fuzzed server runs with (QA_ENGINE_AUDIOHOOK_IDLE_TIMEOUT_S; 60 s by default): short, for speed.
IDLE_S = 3.0
SILENCE = b"\xff"  # μ-law silence
FRAME_STEREO = SILENCE * 1600  # 100 ms, two channels
PII = "13812345678"  # a mobile number: must never appear in the server's log or database
PCMU_STEREO = {"type": "audio", "format": "PCMU", "channels": ["external", "internal"], "rate": 8000}
PCMU_MONO = {"type": "audio", "format": "PCMU", "channels": ["internal"], "rate": 8000}
L16_STEREO = {"type": "audio", "format": "L16", "channels": ["external", "internal"], "rate": 8000}
ERROR_LINE = re.compile(r'"level": "(ERROR|CRITICAL)"|Traceback|^ERROR|Exception in ASGI')


class Peer:
    """A hand-written AudioHook client: keeps seq / serverseq / position as the protocol says, never checks."""

    def __init__(self, ws: ClientConnection, session_id: str) -> None:
        self.ws, self.id = ws, session_id
        self.seq = 0
        self.serverseq = 0
        self.position = 0.0

    def message(self, kind: str, parameters: Any = None, **override: Any) -> dict[str, Any]:
        self.seq += 1
        msg = {"version": "2", "id": self.id, "type": kind, "seq": self.seq, "serverseq": self.serverseq,
               "position": f"PT{self.position:g}S", "parameters": {} if parameters is None else parameters}
        msg.update(override)
        return msg

    async def send(self, kind: str, parameters: Any = None, **override: Any) -> None:
        await self.ws.send(json.dumps(self.message(kind, parameters, **override)))

    async def audio(self, frames: int = 1, frame: bytes = FRAME_STEREO, channels: int = 2) -> None:
        for _ in range(frames):
            await self.ws.send(frame)
            self.position = round(self.position + len(frame) / channels / 8000, 3)

    async def recv(self, timeout: float = HANG_S) -> dict[str, Any]:
        msg: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        self.serverseq = max(self.serverseq, int(msg.get("seq", 0)))
        return msg

    def open_params(self, media: list[Any] | None = None, **extra: Any) -> dict[str, Any]:
        return {"organizationId": str(uuid.uuid4()), "conversationId": str(uuid.uuid4()),
                "participant": {"id": str(uuid.uuid4()), "ani": "+861380000", "aniName": "", "dnis": "+8610"},
                "media": [PCMU_STEREO] if media is None else media, "language": "zh-CN", **extra}

    async def open(self, media: list[Any] | None = None, **extra: Any) -> str:
        await self.send("open", self.open_params(media, **extra))
        answer = await self.recv()
        return str(answer["type"])

    async def close(self) -> str:
        await self.send("close", {"reason": "end"})
        return await conclude(self)


async def conclude(peer: Peer, wait: float = HANG_S) -> str:
    """Read until the server decides: ``disconnect`` (then close it as the spec says), ``closed``, the socket
    closing, or nothing for ``wait`` seconds (a hang)."""
    while True:
        try:
            msg = await peer.recv(wait)
        except TimeoutError:
            return f"HANG (nothing in {wait:g} s)"
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else 1006
            reason = exc.rcvd.reason if exc.rcvd else ""
            return f"close {code}" + (f" {reason[:60]}" if reason else "")
        if msg["type"] == "disconnect":
            info = str(msg["parameters"].get("info", ""))[:90]
            peer.seq = int(msg.get("clientseq", peer.seq))
            try:
                await peer.send("close", {"reason": "error"})
                closed = (await peer.recv())["type"] == "closed"
            except (TimeoutError, ConnectionClosed):
                closed = False
            return f"disconnect {msg['parameters'].get('reason')}: {info}" + ("" if closed else " (no 'closed')")
        if msg["type"] == "closed":
            return "closed"
        if msg["type"] == "opened":
            return "opened, then " + await peer.close()


# -- cases ------------------------------------------------------------------------------------------------
Case = Callable[[Peer], Awaitable[str]]


async def after_open(peer: Peer, send: Callable[[], Awaitable[None]], then_close: bool = True) -> str:
    """Open normally, run ``send``, and report the server's verdict (closing normally if it said nothing)."""
    await peer.open()
    await peer.audio(3)
    await send()
    try:
        msg = await peer.recv(1.0)
    except TimeoutError:
        return await peer.close() if then_close else await conclude(peer)
    except ConnectionClosed as exc:
        return f"close {exc.rcvd.code if exc.rcvd else 1006}"
    if msg["type"] == "disconnect":
        peer.seq = int(msg.get("clientseq", peer.seq))
        info = str(msg["parameters"].get("info", ""))[:90]
        await peer.send("close", {"reason": "error"})
        return f"disconnect {msg['parameters'].get('reason')}: {info}"
    if msg["type"] == "closed":
        return "closed"
    return f"{msg['type']}, then " + await peer.close()


def raw_text(text: str) -> Case:
    async def case(peer: Peer) -> str:
        peer.seq += 1
        await peer.ws.send(text)
        return await conclude(peer)
    return case


def envelope(field: str, value: Any = None, drop: bool = False) -> Case:
    """``open`` with one envelope field missing or replaced."""
    async def case(peer: Peer) -> str:
        msg = peer.message("open", peer.open_params())
        if drop:
            del msg[field]
        else:
            msg[field] = value
        await peer.ws.send(json.dumps(msg))
        return await conclude(peer)
    return case


def open_params(**changes: Any) -> Case:
    """``open`` with parameters changed (a value of ``...`` removes the parameter)."""
    async def case(peer: Peer) -> str:
        params = peer.open_params()
        for name, value in changes.items():
            if value is ...:
                params.pop(name, None)
            else:
                params[name] = value
        await peer.send("open", params)
        answer = await peer.recv()
        if answer["type"] != "opened":
            peer.seq = int(answer.get("clientseq", peer.seq))
            return await conclude_with(peer, answer)
        await peer.audio(2)
        return "opened, then " + await peer.close()
    return case


async def conclude_with(peer: Peer, first: dict[str, Any]) -> str:
    if first["type"] == "disconnect":
        info = str(first["parameters"].get("info", ""))[:90]
        await peer.send("close", {"reason": "error"})
        closed = await conclude(peer)
        tail = "" if closed == "closed" else f" ({closed})"
        return f"disconnect {first['parameters'].get('reason')}: {info}{tail}"
    return first["type"]


def message_after_open(kind: str, parameters: Any = None, **override: Any) -> Case:
    async def case(peer: Peer) -> str:
        return await after_open(peer, lambda: peer.send(kind, parameters, **override))
    return case


def binary_after_open(frame: bytes, media: list[Any] | None = None) -> Case:
    async def case(peer: Peer) -> str:
        opened = await peer.open(media)
        await peer.ws.send(frame)
        try:
            msg = await peer.recv(HANG_S)
        except TimeoutError:
            return f"{opened}, nothing for {HANG_S:g} s"
        except ConnectionClosed as exc:
            return f"{opened}, close {exc.rcvd.code if exc.rcvd else 1006}"
        return f"{opened}, then " + await conclude_with(peer, msg)
    return case


def binary_then_close(frame: bytes, media: list[Any] | None = None) -> Case:
    async def case(peer: Peer) -> str:
        opened = await peer.open(media)
        await peer.ws.send(frame)
        return f"{opened}, then " + await peer.close()
    return case


async def audio_before_open(peer: Peer) -> str:
    await peer.ws.send(FRAME_STEREO)
    return await conclude(peer)


async def close_before_open(peer: Peer) -> str:
    await peer.send("close", {"reason": "end"})
    return await conclude(peer)


async def open_twice(peer: Peer) -> str:
    await peer.open()
    await peer.send("open", peer.open_params())
    return await conclude(peer)


async def close_twice(peer: Peer) -> str:
    await peer.open()
    await peer.send("close", {"reason": "end"})
    await peer.send("close", {"reason": "end"})
    return await conclude(peer)


async def audio_after_close(peer: Peer) -> str:
    await peer.open()
    await peer.send("close", {"reason": "end"})
    await peer.audio(1)
    return await conclude(peer)


async def audio_while_paused(peer: Peer) -> str:
    await peer.open()
    await peer.send("paused")
    await peer.audio(1)
    return await conclude(peer)


async def ping_storm(peer: Peer) -> str:
    await peer.open()
    for _ in range(2000):
        await peer.send("ping")
    pongs = 0
    try:
        while pongs < 2000:
            pongs += (await peer.recv())["type"] == "pong"
    except (TimeoutError, ConnectionClosed):
        return f"{pongs}/2000 pongs"
    return "2000/2000 pongs, then " + await peer.close()


async def ping_storm_unread(peer: Peer) -> str:
    """Pings sent without ever reading the answers: the server must not queue pongs without bound."""
    await peer.open()
    t0 = time.monotonic()
    sent = 0
    try:
        while time.monotonic() - t0 < 8 and sent < 200_000:
            await asyncio.wait_for(peer.send("ping", {"pad": "x" * 2000}), 3)
            sent += 1
    except TimeoutError:
        return f"sent {sent} pings, then the server stopped reading (backpressure)"
    except ConnectionClosed as exc:
        return f"sent {sent} pings, close {exc.rcvd.code if exc.rcvd else 1006}"
    return f"sent {sent} pings in 8 s, all read by the server"


def _cut_offs(server: FuzzServer) -> int:
    """Clients the server cut off for not reading, as its log tells."""
    return server.log.read_text(errors="replace").count("does not read") if server.log.is_file() else 0


def ping_storm_unread_small_window(server: FuzzServer) -> Case:
    """Pings, answers never read, over a socket with a small receive buffer (loopback autotunes it up to tcp_rmem's
    maximum, 32 MB here, which would take the pongs for minutes): the server's send queue fills and it cuts the
    client off (``OUTBOX_MAX``); the sign is that the server stops taking pings, its log names the client."""
    async def case(_peer: Peer) -> str:
        sid = str(uuid.uuid4())
        before = _cut_offs(server)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        async with connect(server.ws_url, sock=sock, additional_headers=headers(server, sid), max_queue=1,
                           ping_interval=None, close_timeout=1) as ws:
            peer = Peer(ws, sid)
            await peer.open()
            t0 = time.monotonic()
            sent = 0
            try:
                while time.monotonic() - t0 < 40:
                    await asyncio.wait_for(peer.send("ping"), 3)
                    sent += 1
            except TimeoutError:
                pass
            except ConnectionClosed as exc:
                return f"sent {sent} pings, close {exc.rcvd.code if exc.rcvd else 1006}"
            cut = _cut_offs(server) > before
            ws.transport.abort()
            return (f"sent {sent} pings in {time.monotonic() - t0:.0f} s, then "
                    + ("cut off by the server (logged: does not read)" if cut else "HANG: never cut off"))
    return case


async def deep_json(peer: Peer) -> str:
    peer.seq += 1
    await peer.ws.send("[" * 30000 + "]" * 30000)
    return await conclude(peer)


async def slow_audio(peer: Peer) -> str:
    await peer.open()
    for _ in range(3):
        await peer.audio(1)
        await asyncio.sleep(2.0)
    return "opened, 3 frames 2 s apart, " + await peer.close()


async def nothing_sent(peer: Peer) -> str:
    return await conclude(peer, wait=15.0)


async def open_then_silent(peer: Peer) -> str:
    """Opened, a little audio, then nothing at all (no audio, no ping): the idle limit ends it."""
    await peer.open()
    await peer.audio(2)
    return await conclude(peer, wait=IDLE_S + 10.0)


async def paused_then_silent(peer: Peer) -> str:
    """Paused, then nothing, not even pings (a client pings while paused): the idle limit holds there too."""
    await peer.open()
    await peer.audio(2)
    await peer.send("paused")
    return await conclude(peer, wait=IDLE_S + 10.0)


async def trickled_open(peer: Peer) -> str:
    """The open message sent as fragments, one every 2 s, never finished."""
    text = json.dumps(peer.message("open", peer.open_params()))

    async def fragments() -> Any:
        for i in range(0, len(text), 4):
            yield text[i: i + 4]
            await asyncio.sleep(2.0)

    sender = asyncio.create_task(peer.ws.send(fragments()))
    try:
        return await conclude(peer, wait=15.0)
    finally:
        sender.cancel()


def drop_after(stage: str) -> Case:
    async def case(peer: Peer) -> str:
        if stage != "connect":
            await peer.open()
        if stage in ("audio", "paused", "close"):
            await peer.audio(5)
        if stage == "paused":
            await peer.send("paused")
        if stage == "close":
            await peer.send("close", {"reason": "end"})
        if stage == "mid-frame":
            peer.ws.transport.write(b"\x82\x7e\x06\x40" + FRAME_STEREO[:100])  # a frame header, then half the bytes
        peer.ws.transport.abort()
        return "client dropped the TCP connection"
    return case


def many_sessions(server: FuzzServer, n: int) -> Case:
    async def case(_peer: Peer) -> str:
        results = await asyncio.gather(*(normal_session(server, frames=5) for _ in range(n)))
        ok = sum(r[0] for r in results)
        return f"{ok}/{n} sessions closed normally (slowest {max(r[1] for r in results):.1f} s)"
    return case


def idle_connections(server: FuzzServer, n: int) -> Case:
    async def case(_peer: Peer) -> str:
        peers = []
        for _ in range(n):
            sid = str(uuid.uuid4())
            ws = await connect(server.ws_url, additional_headers=headers(server, sid), open_timeout=10)
            peers.append(Peer(ws, sid))
        answers = await asyncio.gather(*(conclude(p, wait=15.0) for p in peers))
        ended = sum(not a.startswith("HANG") for a in answers)
        for p in peers:
            await p.ws.close()
        return ("" if ended == n else "HANG: ") + f"{ended}/{n} idle connections ended by the server within 15 s"
    return case


def cases(server: FuzzServer, rng: random.Random) -> list[tuple[str, str, Case]]:
    """(group, name, case). ``rng`` picks the random bytes of the garbage frames (fixed seed: same run)."""
    garbage = bytes(rng.getrandbits(8) for _ in range(777))
    big = 9 * 10 ** 300
    infinite = "9" * 400  # a float() of it is inf
    return [
        ("malformed JSON", "not JSON", raw_text("{not json")),
        ("malformed JSON", "empty text frame", raw_text("")),
        ("malformed JSON", "JSON array", raw_text("[1, 2]")),
        ("malformed JSON", "JSON string", raw_text('"open"')),
        ("malformed JSON", "nested 30000 deep", deep_json),
        ("malformed JSON", "number with 5000 digits", raw_text('{"seq": ' + "9" * 5000 + "}")),
        ("malformed JSON", "text of 70000 characters", raw_text("x" * 70000)),
        ("malformed JSON", "invalid surrogate \\ud800", raw_text('{"version": "2", "id": "\\ud800"}')),
        *[("wrong shape", f"open without '{f}'", envelope(f, drop=True))
          for f in ("version", "id", "type", "seq", "serverseq", "position", "parameters")],
        ("wrong shape", "version 2 (number)", envelope("version", 2)),
        ("wrong shape", "seq '1' (string)", envelope("seq", "1")),
        ("wrong shape", "seq true", envelope("seq", True)),
        ("wrong shape", "seq 2**70", envelope("seq", 2 ** 70)),
        ("wrong shape", "seq 1.0", envelope("seq", 1.0)),
        ("wrong shape", "serverseq -1", envelope("serverseq", -1)),
        ("wrong shape", "position -1 s", envelope("position", "PT-1S")),
        ("wrong shape", "position 10^301 s", envelope("position", f"PT{big}S")),
        ("wrong shape", "position 10^400 s (inf)", envelope("position", f"PT{infinite}S")),
        ("wrong shape", "position 5 (number)", envelope("position", 5)),
        ("wrong shape", "position holds a phone number", envelope("position", f"call {PII}")),
        ("wrong shape", "parameters []", envelope("parameters", [])),
        ("wrong shape", "id of 60000 characters", envelope("id", "a" * 60000)),
        ("wrong shape", "another session's id", envelope("id", str(uuid.uuid4()))),
        ("wrong shape", "unknown type 'foo'", envelope("type", "foo")),
        ("wrong shape", "type is an object", envelope("type", {"open": 1})),
        ("wrong shape", "server type 'pong' from client", envelope("type", "pong")),
        ("wrong shape", "extra fields everywhere", envelope("extra", {"x": [1, 2, 3]})),
        ("open parameters", "no organizationId", open_params(organizationId=...)),
        ("open parameters", "conversationId not a UUID", open_params(conversationId="42")),
        ("open parameters", "participant is a list", open_params(participant=[])),
        ("open parameters", "no media", open_params(media=...)),
        ("open parameters", "media [1]", open_params(media=[1])),
        ("open parameters", "media of 5000 entries", open_params(media=[L16_STEREO] * 5000)),
        ("open parameters", "customConfig is a list", open_params(customConfig=[])),
        ("open parameters", "customConfig.pack unknown", open_params(customConfig={"pack": "nope"})),
        ("open parameters", "customConfig.language 123", open_params(customConfig={"language": 123})),
        ("open parameters", "language 'xx-unknown'", open_params(language="xx-unknown")),
        ("open parameters", "language is an object", open_params(language={"a": 1})),
        ("open parameters", "customConfig.sendTranscripts 'yes'",
         open_params(customConfig={"sendTranscripts": "yes"})),
        ("open parameters", "probe (null conversationId)",
         open_params(conversationId="00000000-0000-0000-0000-000000000000")),
        ("after open", "ping with parameters []", message_after_open("ping", [])),
        ("after open", "update language 5", message_after_open("update", {"language": 5})),
        ("after open", "discarded without start", message_after_open("discarded", {"discarded": "PT1S"})),
        ("after open", "discarded 10^301 s", message_after_open("discarded", {"start": "PT0S",
                                                                                "discarded": f"PT{big}S"})),
        ("after open", "discarded 10^400 s (inf)", message_after_open("discarded", {"start": "PT0S",
                                                                                      "discarded": f"PT{infinite}S"})),
        ("after open", "discarded 10^9 s", message_after_open("discarded", {"start": "PT0S",
                                                                              "discarded": "PT1000000000S"})),
        ("after open", "resumed discarded 10^301 s", message_after_open("resumed", {"start": "PT0S",
                                                                                      "discarded": f"PT{big}S"})),
        ("after open", "error with a phone number", message_after_open("error", {"code": 500,
                                                                                   "message": f"caller {PII}"})),
        ("after open", "close reason with a phone number",
         lambda p: after_open(p, lambda: p.send("close", {"reason": f"caller {PII}"}), then_close=False)),
        ("after open", "close reason is an object",
         lambda p: after_open(p, lambda: p.send("close", {"reason": {"x": 1}}), then_close=False)),
        ("after open", "seq skips one", message_after_open("ping", seq=99)),
        ("after open", "serverseq ahead of the server", message_after_open("ping", serverseq=50)),
        ("order", "audio before open", audio_before_open),
        ("order", "close before open", close_before_open),
        ("order", "open twice", open_twice),
        ("order", "close twice", close_twice),
        ("order", "audio after close", audio_after_close),
        ("order", "audio while paused", audio_while_paused),
        ("order", "2000 pings, answers read", ping_storm),
        ("order", "pings for 8 s, answers never read", ping_storm_unread),
        ("order", "pings, answers never read, 4 kB TCP window", ping_storm_unread_small_window(server)),
        ("binary", "1601 bytes on stereo PCMU", binary_after_open(SILENCE * 1601)),
        ("binary", "1 byte on stereo PCMU", binary_after_open(SILENCE)),
        ("binary", "empty frame", binary_then_close(b"")),
        ("binary", "777 random bytes on mono PCMU", binary_then_close(garbage, [PCMU_MONO])),
        ("binary", "stereo frames on mono PCMU", binary_then_close(FRAME_STEREO * 5, [PCMU_MONO])),
        ("binary", "audio when L16 was offered (no media)", binary_after_open(FRAME_STEREO, [L16_STEREO])),
        ("binary", "100 kB frame (6 s of audio)", binary_then_close(SILENCE * 100_000)),
        ("binary", "1 MiB frame (65 s of audio)", binary_then_close(SILENCE * (1 << 20))),
        ("binary", "15 MiB frame (16 min of audio)", binary_after_open(SILENCE * (15 << 20))),
        ("binary", "17 MiB frame (over the WebSocket limit)", binary_after_open(SILENCE * (17 << 20))),
        ("slow", "3 frames 2 s apart", slow_audio),
        ("slow", "connect, send nothing", nothing_sent),
        ("slow", "open trickled 4 chars per 2 s", trickled_open),
        ("slow", f"open, then nothing (idle limit {IDLE_S:g} s)", open_then_silent),
        ("slow", f"paused, then nothing (idle limit {IDLE_S:g} s)", paused_then_silent),
        *[("disconnect", f"drop after {stage}", drop_after(stage))
          for stage in ("connect", "open", "audio", "paused", "close", "mid-frame")],
        ("many", "50 sessions at once", many_sessions(server, 50)),
        ("many", "100 idle connections", idle_connections(server, 100)),
    ]


# -- running ----------------------------------------------------------------------------------------------
@dataclass
class Row:
    group: str
    case: str
    answer: str
    seconds: float
    log_errors: list[str]
    growth_mb: float
    parallel: str

    def verdict(self) -> str:
        bugs = []
        if self.log_errors:
            bugs.append("server exception")
        if "HANG" in self.answer:
            bugs.append("hang")
        if self.growth_mb > 100:
            bugs.append("memory")
        if not self.parallel.startswith("ok"):
            bugs.append("other session hurt")
        return "BUG: " + ", ".join(bugs) if bugs else "ok"


class FuzzServer(Server):
    log: Path = Path()

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1/audiohook/ws"

    def start_logged(self) -> None:
        """Start serve with its log in a file (the errors a case causes are read from it)."""
        self.log = self.data / "serve.log"
        real_popen = subprocess.Popen

        def popen(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
            kwargs["stderr"] = self.log.open("ab")
            return real_popen(*args, **kwargs)

        subprocess.Popen = popen  # type: ignore[misc,assignment]
        try:
            self.start()
        finally:
            subprocess.Popen = real_popen  # type: ignore[misc]


def headers(server: FuzzServer, session_id: str) -> dict[str, str]:
    key, secret = server.keys["audiohook"].split()
    return signed_headers(server.ws_url, key, secret, organization_id=str(uuid.uuid4()),
                          session_id=session_id)


async def normal_session(server: FuzzServer, frames: int = 10) -> tuple[bool, float]:
    """Open, stream ``frames`` × 100 ms, ping, close: (completed with 'closed', seconds)."""
    t0 = time.monotonic()
    sid = str(uuid.uuid4())
    try:
        async with connect(server.ws_url, additional_headers=headers(server, sid), open_timeout=10,
                           max_size=None) as ws:
            peer = Peer(ws, sid)
            ok = await peer.open() == "opened"
            for _ in range(frames):
                await peer.audio(1)
                await asyncio.sleep(0.05)
            await peer.send("ping")
            ok = ok and (await peer.recv())["type"] == "pong"
            ok = ok and await peer.close() == "closed"
    except (TimeoutError, ConnectionClosed, OSError):
        ok = False
    return ok, time.monotonic() - t0


async def run_case(server: FuzzServer, case: Case) -> tuple[str, float, str]:
    sid = str(uuid.uuid4())

    async def hostile() -> tuple[str, float]:
        t0 = time.monotonic()
        try:
            async with connect(server.ws_url, additional_headers=headers(server, sid), open_timeout=10,
                               max_size=None, ping_interval=None, close_timeout=2) as ws:
                answer = await asyncio.wait_for(case(Peer(ws, sid)), 60)
        except TimeoutError:
            answer = "HANG (case did not finish in 60 s)"
        except ConnectionClosed as exc:
            answer = f"close {exc.rcvd.code if exc.rcvd else 1006}"
        except OSError as exc:
            answer = f"connection failed: {exc}"
        return answer, time.monotonic() - t0

    async def parallel() -> str:
        await asyncio.sleep(0.2)
        ok, seconds = await normal_session(server)
        return f"ok {seconds:.1f} s" if ok and seconds < HANG_S else f"FAILED ({seconds:.1f} s)"

    (answer, seconds), other = await asyncio.gather(hostile(), parallel())
    return answer, seconds, other


async def sample_peak(server: FuzzServer, peak: list[float]) -> None:
    """Keep the server's highest RSS (MB) in ``peak[0]`` (memory a case holds only while it runs counts too)."""
    while True:
        peak[0] = max(peak[0], await asyncio.to_thread(server.rss_mb))
        await asyncio.sleep(0.2)


def new_log_lines(server: FuzzServer, offset: int) -> tuple[list[str], int]:
    data = server.log.read_bytes()
    lines = data[offset:].decode("utf-8", "replace").splitlines()
    return [line for line in lines if ERROR_LINE.search(line)], len(data)


def pii_leaks(server: FuzzServer) -> list[str]:
    """Where the raw phone number the cases sent was stored: the log, or a database table."""
    found = [f"serve log line {i}" for i, line in enumerate(server.log.read_text("utf-8", "replace").splitlines())
             if PII in line]
    db = sqlite3.connect(server.data / "qa-engine.db")
    try:
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            for row in db.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 - our own table names
                if any(PII in str(value) for value in row):
                    found.append(f"table {table}")
                    break
    finally:
        db.close()
    return found


def table(rows: list[Row]) -> str:
    out = ["| group | case | server's answer | s | server log errors | peak RSS Δ MB | parallel session | verdict |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        errors = "; ".join(e[:80] for e in r.log_errors[:2]) or "-"
        out.append(f"| {r.group} | {r.case} | {r.answer.replace('|', '/')} | {r.seconds:.1f} | "
                   f"{errors.replace('|', '/')} | {r.growth_mb:+.0f} | {r.parallel} | {r.verdict()} |")
    return "\n".join(out)


async def fuzz(server: FuzzServer, seed: int, only: str | None) -> list[Row]:
    rows: list[Row] = []
    await normal_session(server)  # warm-up: the live hub and VAD model load on first use, not in a case's memory
    offset = 0
    for group, name, case in cases(server, random.Random(seed)):
        if only and only not in f"{group} {name}":
            continue
        before = server.rss_mb()
        peak = [before]
        sampler = asyncio.create_task(sample_peak(server, peak))
        answer, seconds, other = await run_case(server, case)
        await asyncio.sleep(0.5)  # what the server logs while finishing the session
        sampler.cancel()
        errors, offset = new_log_lines(server, offset)
        rows.append(Row(group, name, answer, seconds, errors, peak[0] - before, other))
        print(f"{rows[-1].verdict():<28} {group:<16} {name:<40} {answer[:90]}", flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", default=None, help="run the cases whose group or name contains this")
    parser.add_argument("--out", default=None, help="append the table to this Markdown file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qa-fuzz-") as tmp:
        env = {**os.environ, "QA_ENGINE_WORKERS": "0", "PYTHONPATH": str(ROOT),
               "QA_ENGINE_AUDIOHOOK_IDLE_TIMEOUT_S": str(IDLE_S)}
        server = FuzzServer(Path(tmp), env=env)
        out = server.cli("audiohook", "add-client", "fuzz", "--team", "t1")
        server.keys["audiohook"] = out.strip().splitlines()[-1]
        server.start_logged()
        try:
            rows = asyncio.run(fuzz(server, args.seed, args.only))
            leaks = pii_leaks(server)
        finally:
            server.kill()
    text = table(rows)
    bugs = sum(r.verdict() != "ok" for r in rows)
    summary = (f"{len(rows)} cases, {bugs} with a bug; PII ({PII}) found in: {', '.join(leaks) or 'nowhere'}; "
               f"seed {args.seed}")
    print(text + "\n\n" + summary)
    if args.out:
        with open(args.out, "a", encoding="utf-8") as fh:
            fh.write(text + "\n\n" + summary + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
