"""Our own AudioHook client: streams a recording to an AudioHook server as Genesys Cloud would.

For demos, tests and benchmarks (``qa-engine tap``). It signs the upgrade request (HTTP message
signature, hmac-sha256 with the base64 client secret), opens the session offering stereo PCMU 8 kHz
(``external`` = customer, ``internal`` = agent), sends 100 ms frames (paced in real time or as fast
as the server takes them), pings, answers server ``pause``/``resume``, can pause itself, and closes.
It keeps every server message so callers can check sequence numbers.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from qa_engine.live.codec import ulaw_encode

logger = logging.getLogger(__name__)
FRAME_S = 0.1
RATE = 8000
SIGNED = ("@request-target", "@authority", "audiohook-organization-id", "audiohook-session-id",
          "audiohook-correlation-id", "x-api-key")


def signed_headers(url: str, api_key: str, client_secret: str, *, organization_id: str, session_id: str,
                   correlation_id: str | None = None, created: int | None = None,
                   nonce: str | None = None) -> dict[str, str]:
    """The AudioHook upgrade headers, signed with ``client_secret`` (base64)."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = {"audiohook-organization-id": organization_id, "audiohook-session-id": session_id,
               "audiohook-correlation-id": correlation_id or str(uuid.uuid4()), "x-api-key": api_key}
    values = {"@request-target": target, "@authority": parts.netloc.lower(), **headers}
    created = int(time.time()) if created is None else created
    nonce = nonce or base64.b64encode(secrets.token_bytes(18)).decode()
    covered = " ".join(f'"{name}"' for name in SIGNED)
    params = f'({covered});keyid="{api_key}";nonce="{nonce}";alg="hmac-sha256";created={created};expires={created + 30}'
    base = "\n".join(f'"{name}": {values[name]}' for name in SIGNED) + f'\n"@signature-params": {params}'
    digest = hmac.new(base64.b64decode(client_secret), base.encode(), hashlib.sha256).digest()
    return {**headers, "signature-input": f"sig1={params}", "signature": f"sig1=:{base64.b64encode(digest).decode()}:"}


def duration(seconds: float) -> str:
    return "PT" + (f"{seconds:.3f}".rstrip("0").rstrip(".") or "0") + "S"


@dataclass
class TapOptions:
    """How the recording is streamed."""

    agent_channel: int = 0
    realtime: bool = False
    speed: float = 1.0  # with realtime: 2.0 streams twice as fast as the call
    ping_every_s: float = 5.0
    pause_at_s: float | None = None  # client-initiated pause at this call time ...
    pause_for_s: float = 0.0  # ... for this long (that audio is discarded)
    custom_config: dict[str, Any] = field(default_factory=dict)
    language: str = "zh-CN"
    organization_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    conversation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    session_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class TapResult:
    """Every server message, in order, and how the session ended."""

    received: list[dict[str, Any]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False
    seconds_sent: float = 0.0


class AudiohookClient:
    """One session over one connection (async)."""

    def __init__(self, url: str, api_key: str, client_secret: str, options: TapOptions | None = None,
                 on_message: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.url, self.api_key, self.secret = url, api_key, client_secret
        self.options = options or TapOptions()
        self.on_message = on_message
        self.result = TapResult()
        self.seq = 0
        self.serverseq = 0
        self.position = 0.0
        self._ws: Any = None
        self._waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._server_paused = False

    async def send(self, kind: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
        self.seq += 1
        msg = {"version": "2", "id": self.options.session_id, "type": kind, "seq": self.seq,
               "serverseq": self.serverseq, "position": duration(self.position), "parameters": parameters or {}}
        self.result.sent.append(msg)
        await self._ws.send(json.dumps(msg))
        return msg

    async def expect(self, kind: str, timeout_s: float = 30.0) -> dict[str, Any]:
        future = self._waiters.setdefault(kind, asyncio.get_running_loop().create_future())
        try:
            return await asyncio.wait_for(future, timeout_s)
        finally:
            self._waiters.pop(kind, None)

    async def _receive(self) -> None:
        async for raw in self._ws:
            msg = json.loads(raw)
            self.result.received.append(msg)
            self.serverseq = msg.get("seq", self.serverseq)
            if self.on_message is not None:
                self.on_message(msg)
            kind = msg.get("type")
            if kind == "pause":
                self._server_paused = True
                await self.send("paused")
            elif kind == "resume" and self._server_paused:
                self._server_paused = False
                await self.send("resumed", {"start": duration(self.position), "discarded": "PT0S"})
            future = self._waiters.get(kind)
            if future is not None and not future.done():
                future.set_result(msg)

    async def run(self, stereo: np.ndarray) -> TapResult:
        """Stream ``stereo`` (int16, shape (2, n), 8 kHz; agent on ``options.agent_channel``)."""
        from websockets.asyncio.client import connect

        o = self.options
        headers = signed_headers(self.url, self.api_key, self.secret, organization_id=o.organization_id,
                                 session_id=o.session_id)
        agent = stereo[o.agent_channel]
        customer = stereo[1 - o.agent_channel] if stereo.shape[0] > 1 else np.zeros_like(agent)
        interleaved = np.stack([customer, agent], axis=1)  # external, internal
        async with connect(self.url, additional_headers=headers, max_size=2**22) as ws:
            self._ws = ws
            receiver = asyncio.create_task(self._receive())
            await self.send("open", {
                "organizationId": o.organization_id, "conversationId": o.conversation_id,
                "participant": {"id": str(uuid.uuid4()), "ani": "+8613800000000", "aniName": "", "dnis": "+861010000"},
                "media": [{"type": "audio", "format": "PCMU", "channels": ["external", "internal"], "rate": RATE},
                          {"type": "audio", "format": "PCMU", "channels": ["external"], "rate": RATE}],
                "language": o.language, "customConfig": o.custom_config})
            opened = await self.expect("opened")
            if not opened["parameters"].get("media"):
                raise RuntimeError("the server accepted none of the offered media formats")
            await self._stream(interleaved)
            await self.send("close", {"reason": "end"})
            await self.expect("closed", timeout_s=120.0)
            self.result.closed = True
            receiver.cancel()
        return self.result

    async def _stream(self, interleaved: np.ndarray) -> None:
        o = self.options
        step = int(FRAME_S * RATE)
        t0 = time.monotonic()
        last_ping = 0.0
        i = 0
        paused_ping = time.monotonic()  # while paused (no audio) pings go on by the clock: the server's idle limit
        while i < interleaved.shape[0]:
            if self._server_paused:
                if time.monotonic() - paused_ping >= o.ping_every_s:
                    paused_ping = time.monotonic()
                    await self.send("ping", {})
                await asyncio.sleep(0.02)
                continue
            paused_ping = time.monotonic()
            if o.pause_at_s is not None and o.pause_for_s > 0 and self.position >= o.pause_at_s:
                await self.send("paused")
                skipped = min(int(o.pause_for_s * RATE), interleaved.shape[0] - i)
                if o.realtime:
                    left = skipped / RATE / o.speed
                    while left > 0:
                        await asyncio.sleep(min(left, o.ping_every_s))
                        left -= o.ping_every_s
                        if left > 0:
                            await self.send("ping", {})
                i += skipped
                await self.send("resumed", {"start": duration(self.position), "discarded": duration(skipped / RATE)})
                o.pause_at_s = None
                continue
            block = interleaved[i: i + step]
            await self._ws.send(ulaw_encode(block.reshape(-1)))
            i += block.shape[0]
            self.position += block.shape[0] / RATE
            self.result.seconds_sent = self.position
            if self.position - last_ping >= o.ping_every_s:
                last_ping = self.position
                await self.send("ping", {})
            if o.realtime:
                ahead = (i / RATE) / o.speed - (time.monotonic() - t0)
                if ahead > 0:
                    await asyncio.sleep(ahead)
            else:
                await asyncio.sleep(0)


def load_call(path: str) -> np.ndarray:
    """A recording as int16 (channels, n) at 8 kHz (resampled when needed)."""
    from qa_engine.audio import load_audio

    audio = load_audio(path, target_sr=RATE)
    return np.clip(np.round(audio.samples * 32768.0), -32768, 32767).astype(np.int16)
