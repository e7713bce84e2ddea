"""Audio calls: upload (multipart), the job queue in the database, the worker (real Whisper base), dedupe,
restart and crash recovery, bad input, the queue bound, audio with HTTP ranges, deletion.

Workers are not started in the background here (``workers=0``): tests run ``Worker.run_once()`` themselves,
so every step is deterministic. The speech model is the session's ``pipeline_zh`` (loaded once).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import wave
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from api.background import make_worker
from api.main import create_app
from qa_engine.app import jobs
from qa_engine.app.models import AuditEntry, Call, Job, utcnow
from qa_engine.app.settings import Settings
from qa_engine.app.users import create_user
from qa_engine.app.worker import Worker

Headers = dict[str, str]
AUDIO = Path(__file__).parents[1] / "data" / "call_zh_stereo.flac"


def silent_wav(seconds: float = 2.0, channels: int = 2) -> bytes:
    """A valid WAV header over digital silence: readable at upload, refused when decoded (silent)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * channels * int(8000 * seconds))
    return buffer.getvalue()


class Service:
    """An app over a fresh database (no background workers), its client, users and a synchronous worker."""

    def __init__(self, settings: Settings, pipeline: Callable[[], Any]) -> None:
        self.settings = settings
        self.app: FastAPI = create_app(settings, pipeline=pipeline)
        self.client = TestClient(self.app)
        self.client.__enter__()

    def close(self) -> None:
        self.client.__exit__(None, None, None)

    def user(self, name: str, role: str, team: str | None = None, extra_teams: tuple[str, ...] = ()) -> Headers:
        with self.app.state.session_factory() as session:
            _user, key = create_user(session, name, role, team, extra_teams)
        return {"Authorization": f"Bearer {key}"}

    def worker(self, **options: Any) -> Worker:
        return make_worker(self.app, **options)

    def upload(self, headers: Headers, data: bytes, filename: str = "call.wav", **fields: Any) -> Any:
        return self.client.post("/api/v1/calls", headers=headers, files={"file": (filename, data, "audio/wav")},
                                data={k: str(v) for k, v in fields.items()})

    def call(self, headers: Headers, call_id: str) -> dict[str, Any]:
        response = self.client.get(f"/api/v1/calls/{call_id}", headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def count(self, model: Any, *where: Any) -> int:
        with self.app.state.session_factory() as session:
            return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


@pytest.fixture()
def service_factory(tmp_path: Path, db_url: str,
                    request: pytest.FixtureRequest) -> Iterator[Callable[..., Service]]:
    """Start services on one database and data folder (several in turn simulate restarts)."""
    started: list[Service] = []

    def start(**overrides: Any) -> Service:
        settings = Settings(data_dir=tmp_path / "data", db_url=db_url, workers=0, **overrides)
        service = Service(settings, lambda: request.getfixturevalue("pipeline_zh"))
        started.append(service)
        return service

    yield start
    for service in started:
        service.close()


@pytest.fixture()
def service(service_factory: Callable[..., Service]) -> Service:
    return service_factory()


def test_audio_call_is_queued_scored_deduplicated_played_and_deleted(service_factory: Callable[..., Service]) -> None:
    first = service_factory()
    alice, root = first.user("alice", "agent", "t1"), first.user("root", "admin")
    sue, carol_sup = first.user("sue", "supervisor", "t1"), first.user("carl", "supervisor", "t2")
    first.user("carol", "agent", "t2")
    data = AUDIO.read_bytes()
    created = first.upload(alice, data, "call_zh_stereo.flac", agent_channel=0, language="zh",
                           started_at="2025-02-03T10:00:00+08:00", call_id="zh-audio-1")
    assert created.status_code == 202, created.text
    assert created.json() == {"id": created.json()["id"], "status": "queued", "duplicate": False}
    call_id = created.json()["id"]
    queued = first.call(alice, call_id)
    assert queued["status"] == "queued" and queued["report"] is None and queued["source"] == "audio"
    assert first.count(Job, Job.status == "queued", Job.call_pk == call_id) == 1
    first.close()  # the service stops with the call still queued: the job must survive the restart

    service = service_factory()
    worker = service.worker()
    assert not service.app.state.pipelines.loaded  # the model loads on the first audio job, not before
    assert worker.run_once() and not worker.run_once()
    done = service.call(alice, call_id)
    assert done["status"] == "done", done
    report = done["report"]
    roles = {u["role"] for u in report["utterances"]}
    assert roles == {"agent", "customer"} and report["agent_channel"] == 0
    assert all(u["channel"] == 0 for u in report["utterances"] if u["role"] == "agent")
    greeting = next(f for f in report["findings"] if f["rule_id"] == "greeting")
    assert greeting["status"] == "pass", greeting
    assert done["score"] == report["score"] and 0 < done["score"] <= 100 and done["grade"]
    assert done["call_id"] == "zh-audio-1" and done["started_at"].startswith("2025-02-03T02:00:00")
    assert report["timings"]["asr"] > 0 and report["timings"]["decode"] > 0
    with service.app.state.session_factory() as session:
        job = session.scalar(select(Job).where(Job.call_pk == call_id))
        assert job is not None and job.status == "done" and job.attempts == 1 and job.result
        stored = session.get(Call, call_id)
        assert stored is not None and stored.raw_transcript is None  # raw text is not kept by default
        audio_path = Path(stored.audio_path or "")
    # the customer reads out a mobile number (and the agent repeats it): silenced on each speaker's channel in the
    # stored copy; the unredacted upload is not kept (QA_ENGINE_KEEP_ORIGINAL_AUDIO is off)
    assert audio_path.parent.parent.name == "audio" and audio_path.name.endswith(".redacted.flac")
    assert not audio_path.with_name(audio_path.name.split(".")[0]).exists()
    redactions = report["redactions"]
    assert {r["channel"] for r in redactions} == {0, 1} and {r["kind"] for r in redactions} == {"phone"}
    redacted, rate = sf.read(audio_path, dtype="int16", always_2d=True)
    for r in redactions:
        assert not redacted[int(r["start"] * rate):int(r["end"] * rate), r["channel"]].any(), r
    served = audio_path.read_bytes()  # what is served from now on

    # the same recording for the same call again: the uploader sees the existing call, nothing new is stored or queued
    # (other metadata makes a new call: tests/api/test_nothing_lost.py)
    again = service.upload(sue, data, "copy.flac", agent="alice", agent_channel=0, language="zh",
                           started_at="2025-02-03T10:00:00+08:00", call_id="zh-audio-1")
    assert again.status_code == 200 and again.json() == {"id": call_id, "status": "done", "duplicate": True}
    # another team's supervisor cannot see that call: they get their own call with a copy of the report, no ASR
    copied = service.upload(carol_sup, data, "carol.flac", agent="carol", language="zh")
    assert copied.status_code == 201 and copied.json()["status"] == "done" and copied.json()["duplicate"]
    copy = service.call(carol_sup, copied.json()["id"])
    assert copy["agent"] == "carol" and copy["score"] == done["score"] and copy["call_id"] == "carol"
    assert copy["report"]["findings"] == report["findings"]
    # the copy feeds what every stored report feeds: cross-call search finds its agent turns for carol's supervisor
    words = next(u["text"] for u in copy["report"]["utterances"] if u["role"] == "agent" and len(u["text"]) >= 4)
    found = service.client.get("/api/v1/search", params={"q": words[:4], "role": "agent"}, headers=carol_sup).json()
    assert [hit["id"] for hit in found["items"]] == [copied.json()["id"]] * len(found["items"]) and found["total"] >= 1
    assert service.count(Job) == 1 and service.count(Call) == 2

    # audio: whole file, ranges, audit
    url = f"/api/v1/calls/{call_id}/audio"
    whole = service.client.get(url, headers=alice)
    assert whole.status_code == 200 and whole.content == served and whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-type"] == "audio/flac"
    size = len(served)
    cases = {"bytes=0-9": (0, 9), "bytes=100-": (100, size - 1), "bytes=-5": (size - 5, size - 1)}
    for header, (start, end) in cases.items():
        part = service.client.get(url, headers={**alice, "Range": header})
        assert part.status_code == 206, header
        assert part.headers["content-range"] == f"bytes {start}-{end}/{size}"
        assert part.content == served[start:end + 1]
    unsatisfiable = service.client.get(url, headers={**alice, "Range": f"bytes={size}-"})
    assert unsatisfiable.status_code == 416 and unsatisfiable.headers["content-range"] == f"bytes */{size}"
    assert service.client.get(url, headers=carol_sup).status_code == 404  # another team's call
    assert service.count(AuditEntry, AuditEntry.action == "audio.read", AuditEntry.call_pk == call_id) == 5

    # delete (admin only); the shared recording stays while the copy still refers to it
    assert service.client.delete(f"/api/v1/calls/{call_id}", headers=sue).status_code == 403
    assert service.client.delete(f"/api/v1/calls/{call_id}", headers=root).status_code == 204
    assert service.client.get(f"/api/v1/calls/{call_id}", headers=root).status_code == 404
    assert service.client.delete(f"/api/v1/calls/{call_id}", headers=root).status_code == 404
    assert audio_path.exists()
    assert service.client.delete(f"/api/v1/calls/{copied.json()['id']}", headers=root).status_code == 204
    assert not audio_path.exists()
    assert service.count(AuditEntry, AuditEntry.action == "call.delete") == 2


def test_unreadable_audio_fails_the_call_with_the_reason(service: Service) -> None:
    alice = service.user("alice", "agent", "t1")
    created = service.upload(alice, silent_wav(), "silence.wav")
    assert created.status_code == 202, created.text
    assert service.worker().run_once()
    failed = service.call(alice, created.json()["id"])
    assert failed["status"] == "failed" and failed["report"] is None
    assert "silent" in failed["error"] and "\n" not in failed["error"], failed["error"]
    assert not service.app.state.pipelines.loaded  # refused while decoding, before any ASR
    listed = service.client.get("/api/v1/calls", params={"status": "failed"}, headers=alice).json()
    assert [c["id"] for c in listed["items"]] == [created.json()["id"]]


def test_bad_uploads_are_clear_4xx_and_store_nothing(service_factory: Callable[..., Service]) -> None:
    service = service_factory(max_upload_mb=0.05)
    alice, root = service.user("alice", "agent", "t1"), service.user("root", "admin")
    wav = silent_wav(1.0)

    def refused(headers: Headers, data: bytes, **fields: Any) -> tuple[int, str]:
        response = service.upload(headers, data, **fields)
        return response.status_code, str(response.json()["detail"])

    assert refused(alice, b"hello, this is not audio at all\n" * 4)[0] == 415
    assert "text file" in refused(alice, b"hello, this is not audio at all\n" * 4)[1]
    code, detail = refused(alice, bytes(range(256)) * 8)
    assert code == 422 and "cannot read the audio header" in detail
    code, detail = refused(alice, b"")
    assert code == 422 and "empty" in detail
    code, detail = refused(root, wav, agent="nobody")
    assert code == 422 and "nobody" in detail and "form: agent: no user" in detail
    code, detail = refused(alice, wav, agent_channel=2)
    assert code == 422 and "2 channel(s)" in detail
    code, detail = refused(alice, wav, agent_channel="left")
    assert code == 422 and "form: agent_channel: must be" in detail
    code, detail = refused(alice, wav, channel=0)
    assert code == 422 and "unknown field 'channel'" in detail
    code, detail = refused(alice, wav, pack="no-such-pack")
    assert code == 422 and "no-such-pack" in detail
    code, detail = refused(alice, wav, started_at="yesterday")
    assert code == 422 and "form: started_at: must be" in detail
    no_file = service.client.post("/api/v1/calls", headers=alice, data={"agent": "alice"},
                                  files={"other": ("x.wav", wav)})
    assert no_file.status_code == 422 and "'file'" in no_file.json()["detail"]
    # too large: a declared length over the limit is refused before reading, a body that grows past it too
    big = silent_wav(5.0)  # 160 kB > 0.05 MB
    code, detail = refused(alice, big)
    assert code == 413 and "0.05 MB" in detail
    declared = service.client.post("/api/v1/calls", content=b"x" * 400_000,
                                   headers={**alice, "Content-Type": "multipart/form-data; boundary=b"})
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:
        yield b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\n"
        for _ in range(40):
            yield b"\x01" * 10_000

    streamed = service.client.post("/api/v1/calls", content=chunks(),
                                   headers={**alice, "Content-Type": "multipart/form-data; boundary=b"})
    assert streamed.status_code == 413
    assert service.count(Call) == 0 and service.count(Job) == 0
    audio_dir = service.settings.data_dir / "audio"
    assert not any(p.is_file() for p in audio_dir.rglob("*")) if audio_dir.exists() else True


def test_an_upload_whose_audio_has_no_decoder_is_422(service: Service) -> None:
    """A WAV with an unknown format tag: ffmpeg opens it but has no decoder for its stream, and the header probe
    failed with an AttributeError (a 500) where a 422 naming the problem belongs (benchmarks/fuzz_audio.py)."""
    alice = service.user("alice", "agent", "t1")
    data = bytearray(silent_wav(1.0))
    data[20:22] = (0x1234).to_bytes(2, "little")  # the fmt chunk's format tag
    response = service.upload(alice, bytes(data), "odd.wav")
    assert response.status_code == 422, response.text
    assert "odd.wav" in response.json()["detail"] and "no decoder" in response.json()["detail"]
    assert service.count(Call) == 0 and service.count(Job) == 0


def test_full_queue_answers_503_with_retry_after(service_factory: Callable[..., Service]) -> None:
    service = service_factory(max_queue=1)
    alice = service.user("alice", "agent", "t1")
    assert service.upload(alice, silent_wav(1.0)).status_code == 202
    full = service.upload(alice, silent_wav(2.0))
    assert full.status_code == 503 and int(full.headers["retry-after"]) > 0
    assert "queue is full" in full.json()["detail"]
    assert service.count(Call) == 1 and service.count(Job) == 1
    assert service.worker().run_once()  # the queue drains: uploads are accepted again
    assert service.upload(alice, silent_wav(2.0)).status_code == 202


def test_claims_are_exclusive_under_concurrency(service: Service) -> None:
    factory = service.app.state.session_factory
    with factory() as session:
        for _ in range(24):
            jobs.enqueue(session, "rescore", payload={})
        session.commit()
    claimed: list[int] = []
    lock = threading.Lock()

    def claim_all(name: str) -> None:
        with factory() as session:
            while (job := jobs.claim_next(session, name)) is not None:
                with lock:
                    claimed.append(job.id)

    threads = [threading.Thread(target=claim_all, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 24


def test_interrupted_jobs_are_resumed_then_given_up(service: Service) -> None:
    alice = service.user("alice", "agent", "t1")
    call_id = service.upload(alice, silent_wav()).json()["id"]
    factory = service.app.state.session_factory
    dead = f"{jobs.worker_name().split(':')[0]}:999999999:0"  # this host, a process that does not exist
    with factory() as session:
        job = jobs.claim_next(session, dead)
        assert job is not None and job.attempts == 1
        assert jobs.heartbeat(session, job.id, dead) and not jobs.heartbeat(session, job.id, "someone-else")
        session.execute(update(Call).where(Call.id == call_id).values(status="processing"))
        session.commit()
    assert service.worker().recover() == (1, 0)  # dead process on this host: resumed at once
    assert service.call(alice, call_id)["status"] == "queued"
    outcomes = []
    with factory() as session:
        for _attempt in range(2):  # a remote worker whose heartbeat stopped: resumed once it is stale
            job = jobs.claim_next(session, "other-host:1:0")
            assert job is not None
            assert jobs.recover_interrupted(session) == (0, 0)  # still fresh
            stale = utcnow() + timedelta(seconds=jobs.STALE_AFTER_S + 1)
            outcomes.append(jobs.recover_interrupted(session, now=stale))
        assert outcomes == [(1, 0), (0, 1)]  # the third interruption gives up
        job = session.get(Job, job.id, populate_existing=True)
        assert job is not None and job.status == "failed" and job.attempts == 3
    failed_call = service.call(alice, call_id)
    assert failed_call["status"] == "failed" and "interrupted 3 times" in failed_call["error"]


def test_worker_command_drains_the_queue(service_factory: Callable[..., Service], db_url: str) -> None:
    service = service_factory()
    alice = service.user("alice", "agent", "t1")
    call_id = service.upload(alice, silent_wav()).json()["id"]
    script = Path(sys.executable).with_name("qa-engine")
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_ENGINE_")}
    proc = subprocess.run([str(script), "worker", "--once", "--data-dir", str(service.settings.data_dir),
                           "--db", db_url], capture_output=True, text=True, timeout=120, check=False, env=env)
    assert proc.returncode == 0, proc.stderr
    failed = service.call(alice, call_id)
    assert failed["status"] == "failed" and "silent" in failed["error"]
    assert service.count(Job, Job.status == "queued") == 0


def test_openapi_shows_both_upload_types(service: Service) -> None:
    spec = service.client.get("/api/v1/openapi.json").json()
    content = spec["paths"]["/api/v1/calls"]["post"]["requestBody"]["content"]
    assert set(content) == {"application/json", "multipart/form-data"}
    assert content["multipart/form-data"]["schema"]["properties"]["file"]["format"] == "binary"
