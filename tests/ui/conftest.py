"""A real qa-engine server (uvicorn in a thread, SQLite in a temp folder) with users, calls and one recording,
and headless Chromium from Debian driven by Playwright (never a downloaded browser).

The server is shared by the module's tests: calls are uploaded once through the HTTP API (transcripts scored
at once; the recording scored by a worker run here with the session's ``pipeline_zh``).
"""

from __future__ import annotations

import copy
import json
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from api.background import make_worker
from api.main import create_app
from qa_engine.app.settings import Settings
from qa_engine.app.users import create_user

from .browser import csp_checked_context

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
AUDIO = Path(__file__).parents[1] / "data" / "call_zh_stereo.flac"
#: Screenshots of the main pages, in Chinese and English (linked from the README).
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
PASSWORDS = {"sue": "sue-password", "alice": "alice-password", "bob": "bob-password", "carl": "carl-password",
             "carol": "carol-password", "root": "root-password"}

GOOD: dict[str, Any] = json.loads((Path(__file__).parents[1] / "data" / "transcript_zh_good.json").read_text("utf-8"))
BAD: dict[str, Any] = {
    "language": "zh",
    "utterances": [
        {"role": "agent", "start": 0.0, "end": 2.0, "text": "喂，什么事？"},
        {"role": "customer", "start": 2.5, "end": 7.0, "text": "我要投诉，宽带坏了等了三天都没人来修，太差了！"},
        {"role": "agent", "start": 7.5, "end": 11.0, "text": "这个我不清楚，不归我们部门管，你去问别人吧。"},
        {"role": "customer", "start": 11.5, "end": 13.0, "text": "你们怎么回事？"},
        {"role": "agent", "start": 13.5, "end": 15.0, "text": "这是规定，我也没办法。"},
    ],
}

#: A pack for team t2 whose forbidden-phrase rule lists words the agent says at about 25 s into
#: tests/data/call_zh_stereo.flac ("好的，感谢您的来电，再见！"): a real failed finding on real audio.
STRICT_PACK = """\
pack: zh-ui-strict
version: "1.0.0"
language: zh
name: 严格结束语测试包
description: 测试用：把“感谢您的来电”列为禁语，让真实录音产生一条带证据的不合格项。
grades: {优秀: 90, 良好: 80, 合格: 60, 不合格: 0}
rules:
  - id: greeting
    type: phrase_in_window
    summary: 坐席在开场白中使用标准问候语
    weight: 50
    severity: major
    role: agent
    window: {anchor: first_agent_turns, turns: 2, within_s: 15}
    match:
      threshold: 80
      phrases: [您好很高兴为您服务, 请问有什么可以帮您]
  - id: forbidden_closing
    type: forbidden
    summary: 坐席不得说“感谢您的（来电）”（测试用禁语）
    weight: 50
    severity: critical
    role: agent
    match:
      phrases: [感谢您的来电, 感谢您的]  # Whisper base may hear the synthetic voice's 来电 as 台电
"""


@dataclass
class UiServer:
    url: str
    app: Any
    keys: dict[str, str] = field(default_factory=dict)
    calls: dict[str, str] = field(default_factory=dict)  # label -> call id
    passwords: dict[str, str] = field(default_factory=dict)  # user -> password (for the login page)

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[user]}"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _transcript(base: dict[str, Any], call_id: str, agent: str, started: datetime) -> dict[str, Any]:
    doc = copy.deepcopy(base)
    doc.update(call_id=call_id, agent=agent, started_at=started.isoformat())
    return doc


def _seed(server: UiServer) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    with httpx.Client(base_url=server.url, timeout=60) as http:
        plan = [("alice-good", GOOD, "alice", now - timedelta(hours=1)),
                ("alice-bad", BAD, "alice", now - timedelta(hours=3)),
                ("alice-old", GOOD, "alice", now - timedelta(days=9)),
                ("bob-bad", BAD, "bob", now - timedelta(hours=2)),
                ("bob-good", GOOD, "bob", now - timedelta(days=2)),
                ("carol-good", GOOD, "carol", now - timedelta(hours=5))]
        for label, base, agent, started in plan:
            uploader = "root" if agent == "carol" else "sue"
            server.calls[label] = post_transcript(http, server, uploader,
                                                  _transcript(base, f"{label}-{now:%H%M}", agent, started))
        response = http.post("/api/v1/calls", headers=server.headers("sue"),
                             files={"file": ("call_zh_stereo.flac", AUDIO.read_bytes(), "audio/flac")},
                             data={"agent": "alice", "agent_channel": "0", "language": "zh", "call_id": "alice-audio",
                                   "started_at": (now - timedelta(minutes=30)).isoformat()})
        assert response.status_code == 202, response.text
        server.calls["alice-audio"] = response.json()["id"]
        _seed_failing_audio(http, server, now)
    assert make_worker(server.app).drain() == 2


def _seed_failing_audio(http: httpx.Client, server: UiServer, now: datetime) -> None:
    """Team t2 gets a pack that forbids a phrase the agent really says in the recording, so the call scored
    from it has a failed finding with evidence in the audio (carl, t2's supervisor, sees it; sue does not)."""
    response = http.post("/api/v1/packs", headers={**server.headers("root"), "Content-Type": "application/yaml"},
                         content=STRICT_PACK.encode("utf-8"))
    assert response.status_code == 201, response.text
    response = http.put("/api/v1/teams/t2/pack", headers=server.headers("root"),
                        json={"pack_id": "zh-ui-strict", "version": None})
    assert response.status_code == 200, response.text
    response = http.post("/api/v1/calls", headers=server.headers("root"),
                         files={"file": ("call_zh_stereo.flac", AUDIO.read_bytes(), "audio/flac")},
                         data={"agent": "carol", "agent_channel": "0", "language": "zh", "call_id": "carol-audio",
                               "started_at": (now - timedelta(minutes=20)).isoformat()})
    assert response.status_code == 202, response.text
    server.calls["carol-audio"] = response.json()["id"]


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[UiServer]:
    data_dir = tmp_path_factory.mktemp("ui") / "data"
    settings = Settings(data_dir=data_dir, workers=0)
    app = create_app(settings, pipeline=lambda: request.getfixturevalue("pipeline_zh"))
    with running_server(app) as url:
        ui = UiServer(url=url, app=app)
        _add_users(ui)
        _seed(ui)
        yield ui


def _add_users(ui: UiServer) -> None:
    add_users(ui, [("sue", "supervisor", "t1"), ("carl", "supervisor", "t2"), ("alice", "agent", "t1"),
                   ("bob", "agent", "t1"), ("carol", "agent", "t2"), ("root", "admin", None)])


def add_users(ui: UiServer, users: Sequence[tuple[str, str, str | None]],
              passwords: dict[str, str] | None = None) -> None:
    """Create ``(name, role, team)`` users in ``ui``'s database with their passwords (default :data:`PASSWORDS`);
    their API keys and passwords go into ``ui``."""
    passwords = PASSWORDS if passwords is None else passwords
    with ui.app.state.session_factory() as session:
        for name, role, team in users:
            _user, ui.keys[name] = create_user(session, name, role, team, (), password=passwords[name])
            ui.passwords[name] = passwords[name]


def post_transcript(http: httpx.Client, server: UiServer, uploader: str, doc: dict[str, Any]) -> str:
    """Upload a transcript as ``uploader`` (scored at once); returns the new call's id."""
    response = http.post("/api/v1/calls", headers=server.headers(uploader), json=doc)
    assert response.status_code == 201, response.text
    call_id: str = response.json()["id"]
    return call_id


@contextmanager
def light_server(tmp_path_factory: pytest.TempPathFactory, name: str, users: Sequence[tuple[str, str, str | None]],
                 passwords: dict[str, str] | None = None, timezone: str = "UTC") -> Iterator[UiServer]:
    """A server of a test module's own, with ``users`` and no speech model (transcripts only): fast to start; its
    call centre works in ``timezone``."""
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp(name) / "data", workers=0, timezone=timezone))
    with running_server(app) as url:
        ui = UiServer(url=url, app=app)
        add_users(ui, users, passwords)
        yield ui


@contextmanager
def running_server(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free loopback port; yields its base URL, stops it after."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the UI test server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (bash scripts/setup.sh installs the Debian package)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture()
def context(browser: Any) -> Iterator[Any]:
    """A browser context (zh-CN); any Content-Security-Policy violation on its pages fails the test."""
    with csp_checked_context(browser) as ctx:
        yield ctx


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """docs/screenshots/: each test overwrites its own PNGs, so running one UI module leaves the others' in place."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
