"""An admin deletes a call while the worker is scoring it (or rescoring it): whatever the order of events.

The worker is the real one over the real database (SQLite and PostgreSQL) with the real speech model; the test
holds the worker's thread at one point (a pipeline step, the write of the report, the commit) while it deletes the
call through the API, then lets it go on. Afterwards: no row of the call is left, no recording of it is left on
disk (it holds PII), the job says what happened in one clear line, and the worker goes on with the queue.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, event, func, select
from sqlalchemy.orm import Session, attributes, sessionmaker

from qa_engine.app.audio_files import audio_root
from qa_engine.app.models import Call, FindingRow, Job, ReviewItem, SearchUtterance, WebhookDelivery
from qa_engine.app.settings import Settings
from qa_engine.app.worker import Worker
from qa_engine.pipeline import Pipeline, PipelineOptions

from .test_processing import AUDIO, Headers, Service

#: how long either side waits for the other before calling the interleaving broken (seconds)
PATIENCE = 120
DELETED = "the call was deleted while it was being processed"


class Pause:
    """Holds the worker's thread, the first time it gets there, until the test has done its part."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.go_on = threading.Event()
        self.thread: int | None = None

    def __call__(self) -> None:
        if self.reached.is_set():
            return
        self.thread = threading.get_ident()
        self.reached.set()
        assert self.go_on.wait(PATIENCE), "the test never let the worker go on"


def pipeline_pausing_at(recognizer: Any, step: str, pause: Pause) -> Pipeline:
    """The zh pipeline (real Whisper) that pauses after ``step`` (a pipeline hook's step name)."""

    def hook(name: str, _artefact: Any = None) -> None:
        if name == step:
            pause()

    return Pipeline(PipelineOptions(language="zh"), recognizer=recognizer, hook=hook)


def sessions_pausing_at(service: Service, where: str, pause: Pause) -> sessionmaker[Session]:
    """The app's sessions, for the worker alone, pausing at ``where``: ``claimed`` (after claiming the job),
    ``flush`` (the report is about to be written) or ``commit`` (it is written, about to be committed)."""
    factory: sessionmaker[Session] = sessionmaker(**service.app.state.session_factory.kw)
    report_written = threading.Event()

    def before_flush(session: Session, _context: Any, _objects: Any) -> None:
        if any(isinstance(o, Call) and attributes.get_history(o, "finished_at").has_changes() for o in session.dirty):
            if where == "flush":
                pause()
            report_written.set()

    def before_commit(_session: Session) -> None:
        if where == "commit" and report_written.is_set():
            pause()

    def after_commit(_session: Session) -> None:
        if where == "claimed":
            pause()

    event.listen(factory, "before_flush", before_flush)
    event.listen(factory, "before_commit", before_commit)
    event.listen(factory, "after_commit", after_commit)
    return factory


class CallsRead:
    """Set once a thread other than ``worker_thread`` has read the ``calls`` table (the delete loading the call)."""

    def __init__(self, service: Service, pause: Pause) -> None:
        self.engine = service.app.state.db_engine
        self.pause = pause
        self.event = threading.Event()
        event.listen(self.engine, "after_cursor_execute", self._after)

    def _after(self, _conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.get_ident() != self.pause.thread and statement.lstrip().upper().startswith("SELECT") \
                and "FROM calls" in statement:
            self.event.set()

    def close(self) -> None:
        event.remove(self.engine, "after_cursor_execute", self._after)


@pytest.fixture()
def start_service(tmp_path: Path, db_url: str, recognizer: Any) -> Iterator[Callable[[Pipeline], Service]]:
    started: list[Service] = []

    def start(pipeline: Pipeline) -> Service:
        settings = Settings(data_dir=tmp_path / "data", db_url=db_url, workers=0)
        service = Service(settings, lambda: pipeline)
        started.append(service)
        return service

    yield start
    for service in started:
        service.close()


def audio_files(service: Service) -> list[Path]:
    return sorted(p for p in audio_root(service.settings.data_dir).rglob("*") if p.is_file())


def rows_of(service: Service, call_pk: str) -> dict[str, int]:
    """How many rows still refer to the call, per table."""
    with service.app.state.session_factory() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model)
                                                    .where(model.call_pk == call_pk)) or 0
                for model in (FindingRow, SearchUtterance, ReviewItem, WebhookDelivery)} | {
            "calls": session.scalar(select(func.count()).select_from(Call).where(Call.id == call_pk)) or 0}


def job_of(service: Service, job_id: int) -> Job:
    with service.app.state.session_factory() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def upload_audio_and_a_rescore(service: Service, alice: Headers, root: Headers) -> tuple[str, int, int]:
    """Queue the recording's job, then a rescore behind it (of a transcript call): (call id, job ids)."""
    created = service.upload(alice, AUDIO.read_bytes(), "call_zh_stereo.flac", agent_channel=0, language="zh")
    assert created.status_code == 202, created.text
    call_pk = created.json()["id"]
    transcript = service.client.post("/api/v1/calls", headers=alice, json={
        "call_id": "other", "language": "zh",
        "utterances": [{"role": "agent", "start": 0, "end": 2, "text": "您好，很高兴为您服务"}]})
    assert transcript.status_code == 201, transcript.text
    rescore = service.client.post("/api/v1/packs/zh-CN/rescore", json={}, headers=root)
    assert rescore.status_code == 202, rescore.text
    with service.app.state.session_factory() as session:
        job_id = session.scalar(select(Job.id).where(Job.call_pk == call_pk))
    assert job_id is not None
    return call_pk, job_id, rescore.json()["job_id"]


def run_worker_with_a_delete(service: Service, worker: Worker, pause: Pause, call_pk: str, root: Headers,
                             *, overlapping_the_commit: bool = False) -> None:
    """Run the queued job in a thread; once it pauses, delete the call, let the job go on; both must succeed.

    ``overlapping_the_commit``: the delete loads the call while the worker is paused, and completes after the
    worker's commit (the delete reads what was there before the report).
    """
    with ThreadPoolExecutor(2) as pool:
        ran = pool.submit(worker.run_once)
        assert pause.reached.wait(PATIENCE), "the worker never reached the pause"
        deleted: Future[Any]
        if overlapping_the_commit:
            reads = CallsRead(service, pause)
            try:
                deleted = pool.submit(service.client.delete, f"/api/v1/calls/{call_pk}", headers=root)
                assert reads.event.wait(PATIENCE), "the delete never loaded the call"
            finally:
                reads.close()
            pause.go_on.set()
        else:
            deleted = pool.submit(service.client.delete, f"/api/v1/calls/{call_pk}", headers=root)
            deleted.result(timeout=PATIENCE)
            pause.go_on.set()
        assert ran.result(timeout=PATIENCE) is True
        assert deleted.result(timeout=PATIENCE).status_code == 204


def assert_nothing_left_and_queue_goes_on(service: Service, worker: Worker, call_pk: str, rescore_job: int,
                                          caplog: pytest.LogCaptureFixture) -> None:
    assert rows_of(service, call_pk) == dict.fromkeys(
        ("findings", "search_utterances", "review_items", "webhook_deliveries", "calls"), 0)
    assert audio_files(service) == []
    assert worker.run_once() and not worker.run_once()  # the rescore queued behind it
    rescore = job_of(service, rescore_job)
    assert rescore.status == "done" and rescore.result and rescore.result["rescored"] == 1, rescore.result
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


@pytest.mark.parametrize(("where", "outcome"), [
    ("decode", "failed"),  # the recording is decoded, ASR has not run yet
    ("rules", "failed"),  # scored, before the redacted copy is written and the report stored
])
def test_a_call_deleted_while_its_pipeline_runs(start_service: Callable[[Pipeline], Service], recognizer: Any,
                                               caplog: pytest.LogCaptureFixture, where: str, outcome: str) -> None:
    pause = Pause()
    service = start_service(pipeline_pausing_at(recognizer, where, pause))
    alice, root = service.user("alice", "agent", "t1"), service.user("root", "admin")
    call_pk, job_id, rescore_job = upload_audio_and_a_rescore(service, alice, root)
    worker = service.worker()
    run_worker_with_a_delete(service, worker, pause, call_pk, root)
    job = job_of(service, job_id)
    assert (job.status, job.error) == (outcome, DELETED)
    assert_nothing_left_and_queue_goes_on(service, worker, call_pk, rescore_job, caplog)


@pytest.mark.parametrize(("where", "status", "error"), [
    ("claimed", "failed", "the call was deleted before it was processed"),
    ("flush", "failed", DELETED),  # the redacted copy is written, the report about to be
    ("commit", "done", None),  # the delete loads the call before the report's commit, deletes it after
])
def test_a_call_deleted_around_the_write_of_its_report(start_service: Callable[[Pipeline], Service],
                                                       pipeline_zh: Pipeline, caplog: pytest.LogCaptureFixture,
                                                       where: str, status: str, error: str | None) -> None:
    service = start_service(pipeline_zh)
    alice, root = service.user("alice", "agent", "t1"), service.user("root", "admin")
    call_pk, job_id, rescore_job = upload_audio_and_a_rescore(service, alice, root)
    pause = Pause()
    state = service.app.state
    worker = Worker(sessions_pausing_at(service, where, pause), state.settings, state.pack_cache, state.pipelines)
    run_worker_with_a_delete(service, worker, pause, call_pk, root, overlapping_the_commit=where == "commit")
    job = job_of(service, job_id)
    assert (job.status, job.error) == (status, error)
    assert_nothing_left_and_queue_goes_on(service, worker, call_pk, rescore_job, caplog)


def test_a_call_deleted_before_its_job_starts_leaves_nothing(start_service: Callable[[Pipeline], Service],
                                                             pipeline_zh: Pipeline) -> None:
    service = start_service(pipeline_zh)
    alice, root = service.user("alice", "agent", "t1"), service.user("root", "admin")
    call_pk, job_id, rescore_job = upload_audio_and_a_rescore(service, alice, root)
    assert service.client.delete(f"/api/v1/calls/{call_pk}", headers=root).status_code == 204
    worker = service.worker()
    assert worker.run_once() and not worker.run_once()  # only the rescore is left to run
    assert service.count(Job, Job.id == job_id) == 0 and job_of(service, rescore_job).status == "done"
    assert rows_of(service, call_pk)["calls"] == 0 and audio_files(service) == []
    assert not service.app.state.pipelines.loaded


def test_a_rescore_skips_a_call_deleted_while_it_is_rescored(start_service: Callable[[Pipeline], Service],
                                                            pipeline_zh: Pipeline,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    service = start_service(pipeline_zh)
    alice, root = service.user("alice", "agent", "t1"), service.user("root", "admin")
    ids = []
    for label in ("first", "second", "third"):
        created = service.client.post("/api/v1/calls", headers=alice, json={
            "call_id": label, "language": "zh", "started_at": f"2025-02-0{len(ids) + 1}T10:00:00Z",
            "utterances": [{"role": "agent", "start": 0, "end": 2, "text": "您好，很高兴为您服务"}]})
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    rescore = service.client.post("/api/v1/packs/zh-CN/rescore", json={}, headers=root)
    assert rescore.status_code == 202, rescore.text
    pause = Pause()
    state = service.app.state
    worker = Worker(sessions_pausing_at(service, "flush", pause), state.settings, state.pack_cache, state.pipelines)
    run_worker_with_a_delete(service, worker, pause, ids[0], root)  # the oldest call is rescored first
    job = job_of(service, rescore.json()["job_id"])
    assert job.status == "done" and job.error is None, job.error
    assert job.result is not None
    assert (job.result["selected"], job.result["rescored"], job.result["failed"]) == (3, 2, 0), job.result
    assert job.result["skipped_deleted"] == 1, job.result
    assert rows_of(service, ids[0])["calls"] == 0
    for call_pk in ids[1:]:
        assert service.call(alice, call_pk)["status"] == "done"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
