"""Live-tap fixtures: the service served by a real uvicorn on a free loopback port, an AudioHook client."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from api.main import create_app
from qa_engine.app.audiohook_clients import AudiohookClient, add_client
from qa_engine.app.settings import Settings
from qa_engine.app.users import create_user


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    app: FastAPI
    port: int
    client: AudiohookClient

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1/audiohook/ws"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def user(self, name: str, role: str, team: str | None = None) -> dict[str, str]:
        with self.app.state.session_factory() as session:
            _user, key = create_user(session, name, role, team)
        return {"Authorization": f"Bearer {key}"}


def serve(app: FastAPI) -> Iterator[int]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="websockets-sansio")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@pytest.fixture()
def live_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", workers=0)


@pytest.fixture()
def make_server(live_settings: Settings) -> Iterator[Callable[..., LiveServer]]:
    """Start the service (optionally with a speech pipeline) and register one AudioHook client (team t1)."""
    stack: list[Iterator[int]] = []

    def make(pipeline: Any = None) -> LiveServer:
        app = create_app(live_settings, pipeline=pipeline)
        client = add_client(live_settings.data_dir, "genesys-test", team="t1")
        gen = serve(app)
        port = next(gen)
        stack.append(gen)
        return LiveServer(app, port, client)

    yield make
    for gen in stack:
        next(gen, None)
