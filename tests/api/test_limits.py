"""Bounded work at the HTTP edge: body limits per route before reading, a credential before reading, audio refused
from its header when it would decode past the budget, and ``/healthz`` answering while heavy requests run."""

from __future__ import annotations

import asyncio
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf
import uvicorn
import yaml
from fastapi.testclient import TestClient

from api.body_limits import BodyLimits
from api.main import create_app
from qa_engine.app.settings import Settings
from qa_engine.app.users import create_user

from .serve_process import free_port

PACK = Path(__file__).parents[2] / "rules" / "packs" / "en.yaml"
YAML = {"Content-Type": "application/yaml"}


def _settings(tmp_path: Path, **extra: float) -> Settings:
    return Settings(data_dir=tmp_path / "data", workers=0, **extra)  # type: ignore[arg-type]


@pytest.fixture()
def app_client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(_settings(tmp_path, max_transcript_body_mb=0.05, max_pack_body_mb=0.1, max_decoded_mb=8))
    with TestClient(app) as client:
        yield client


def _user(client: TestClient, name: str, role: str, team: str | None = "t1") -> dict[str, str]:
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        _u, key = create_user(session, name, role, team)
    return {"Authorization": f"Bearer {key}"}


def test_declared_length_over_the_route_limit_is_413(app_client: TestClient) -> None:
    admin = _user(app_client, "ada", "admin", None)
    big = b"#" * 200_000
    answer = app_client.post("/api/v1/packs/validate", content=big, headers={**admin, **YAML})
    assert answer.status_code == 413
    assert "QA_ENGINE_MAX_PACK_BODY_MB" in answer.json()["detail"]
    answer = app_client.post("/api/v1/calls", content=b"{" + b" " * 60_000 + b"}",
                             headers={**admin, "Content-Type": "application/json"})
    assert answer.status_code == 413 and "QA_ENGINE_MAX_TRANSCRIPT_BODY_MB" in answer.json()["detail"]
    small = app_client.post("/api/v1/packs/validate", content=PACK.read_bytes(), headers={**admin, **YAML})
    assert small.status_code == 200, small.text


def test_oversized_audio_form_names_the_configured_upload_limit(tmp_path: Path) -> None:
    """The body may carry form fields beyond the file's limit, but the 413 states the limit an admin set."""
    with TestClient(create_app(_settings(tmp_path, max_upload_mb=0.05))) as client:
        sue = _user(client, "sue", "supervisor")
        answer = client.post("/api/v1/calls", headers=sue, data={"agent": "sue"},
                             files={"file": ("big.wav", b"\0" * 400_000, "audio/wav")})
    assert answer.status_code == 413, answer.text
    assert "at most 0.05 MB" in answer.json()["detail"] and "QA_ENGINE_MAX_UPLOAD_MB" in answer.json()["detail"]


def test_chunked_body_is_cut_at_the_limit(app_client: TestClient) -> None:
    admin = _user(app_client, "ada", "admin", None)
    sent = []

    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            sent.append(1)
            yield b"#" * 10_000

    answer = app_client.post("/api/v1/packs/validate", content=chunks(), headers={**admin, **YAML})
    assert answer.status_code == 413, answer.text
    assert "QA_ENGINE_MAX_PACK_BODY_MB" in answer.json()["detail"]


def test_missing_credential_is_401_before_the_body_is_read(app_client: TestClient) -> None:
    for path in ("/api/v1/packs", "/api/v1/packs/validate", "/api/v1/calls"):
        answer = app_client.post(path, content=b"x" * 1000, headers=YAML)
        assert answer.status_code == 401 and "Authorization" in answer.json()["detail"]
    # a present but wrong key is judged by the auth dependency, which runs before the pack body is read
    answer = app_client.post("/api/v1/packs/validate", content=b"x" * 1000,
                             headers={"Authorization": "Bearer nope", **YAML})
    assert answer.status_code == 401


def test_middleware_never_reads_a_refused_body(tmp_path: Path) -> None:
    async def app(scope: object, receive: object, send: object) -> None:
        raise AssertionError("the app must not run")

    async def receive() -> dict[str, object]:
        raise AssertionError("the body must not be read")

    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    middleware = BodyLimits(app, _settings(tmp_path))  # type: ignore[arg-type]
    for headers, code in (([(b"content-length", b"5000000")], 401),
                          ([(b"content-length", b"5000000"), (b"authorization", b"Bearer k")], 413)):
        sent.clear()
        scope = {"type": "http", "method": "POST", "path": "/api/v1/packs", "headers": headers}
        asyncio.run(middleware(scope, receive, send))  # type: ignore[arg-type]
        assert sent[0]["status"] == code


def _flac(seconds: float, channels: int) -> bytes:
    out = io.BytesIO()
    data = np.zeros((int(seconds * 8000), channels), dtype=np.int16)
    data[::8000] = 300
    sf.write(out, data, 8000, format="FLAC", subtype="PCM_16")
    return out.getvalue()


def test_audio_over_the_decoded_budget_is_refused_from_the_header(app_client: TestClient) -> None:
    sue = _user(app_client, "sue", "supervisor")
    _user(app_client, "alice", "agent")
    long_call = _flac(120, 2)  # 2 min stereo decodes to 15 MB: over the 8 MB budget; the file is a few kB
    answer = app_client.post("/api/v1/calls", headers=sue, files={"file": ("long.flac", long_call, "audio/flac")},
                             data={"agent": "alice", "language": "zh"})
    assert answer.status_code == 413, answer.text
    assert "QA_ENGINE_MAX_DECODED_MB" in answer.json()["detail"] and "2 channels" in answer.json()["detail"]
    short_call = _flac(30, 2)
    answer = app_client.post("/api/v1/calls", headers=sue, files={"file": ("short.flac", short_call, "audio/flac")},
                             data={"agent": "alice", "language": "zh"})
    assert answer.status_code == 202, answer.text


def _big_pack() -> str:
    doc = yaml.safe_load(PACK.read_text(encoding="utf-8"))
    template = next(r for r in doc["rules"] if r["id"] == "forbidden_phrases")
    doc["rules"] = [yaml.safe_load(yaml.safe_dump(
        {**template, "id": f"forbidden_{i}",
         "match": {**template["match"], "phrases": [f"phrase number {i} {j}" for j in range(40)]}}))
        for i in range(50)]  # ~4,400 values: as big as a pack may be (MAX_PACK_VALUES), and slow to compile
    return yaml.safe_dump(doc, allow_unicode=True)


def test_healthz_answers_while_heavy_requests_run(tmp_path: Path) -> None:
    settings = _settings(tmp_path, max_pack_body_mb=2.0)
    app = create_app(settings)
    with app.state.session_factory() as session:
        _u, key = create_user(session, "ada", "admin", None)
    admin = {"Authorization": f"Bearer {key}", **YAML}
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    pack = _big_pack()
    hostile = yaml.safe_load(PACK.read_text(encoding="utf-8"))
    next(r for r in hostile["rules"] if r["id"] == "forbidden_phrases")["match"]["patterns"] = ["(a+)+$"]
    try:
        with httpx.Client(base_url=base, timeout=60) as http:
            for _ in range(100):
                try:
                    if http.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            heavy_done = threading.Event()
            results: list[int] = []

            def heavy() -> None:
                with httpx.Client(base_url=base, timeout=120) as other:
                    for _ in range(2):
                        results.append(other.post("/api/v1/packs/validate", content=pack.encode(),
                                                  headers=admin).status_code)
                    results.append(other.post("/api/v1/packs/validate", content=yaml.safe_dump(hostile).encode(),
                                              headers=admin).status_code)
                heavy_done.set()

            worker = threading.Thread(target=heavy)
            worker.start()
            latencies = []
            while not heavy_done.is_set():
                t0 = time.perf_counter()
                assert http.get("/healthz").status_code == 200
                latencies.append(time.perf_counter() - t0)
                time.sleep(0.05)
            worker.join()
            assert results == [200, 200, 200], results  # (a+)+$ is harmless on RE2: accepted
            assert latencies and max(latencies) < 1.0, (max(latencies), len(latencies))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
