"""Errors are stored masked when they are written: a call's or job's error, a job's result and payload, a batch
run's failures and the log records of our code. An error line may quote an uploaded file's name (call centres name
recordings after the caller's number), words from the call or a decoder message."""

from __future__ import annotations

import io
import json
import logging
import re
import wave
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.background import make_worker
from api.main import create_app
from qa_engine.app import jobs
from qa_engine.app.batch import BatchOptions, run_batch
from qa_engine.app.batch.report import format_summary
from qa_engine.app.database import make_engine, make_session_factory
from qa_engine.app.migrate import upgrade
from qa_engine.app.models import Call, Job
from qa_engine.app.settings import Settings
from qa_engine.app.users import create_user
from qa_engine.pipeline import PipelineOptions

from .leaks import PHONE, leak_pattern, leaks_in

API = "/api/v1"
FILE_NAME = f"{PHONE}_20261205.wav"
LEAK = leak_pattern(PHONE)
#: the whole number, whatever stands between its digits (logs hold timings and ids: 4 digits may be there by chance)
NUMBER = re.compile("[^0-9A-Za-z]{0,3}".join(PHONE))


def _leaks(text: str) -> list[str]:
    """Parts of the number in ``text`` (its ISO timestamps left out: 12:34:56 is no leak)."""
    return leaks_in(LEAK, text)


def _silent_wav() -> bytes:
    """A valid WAV header over digital silence: accepted at upload, refused when decoded."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 2 * 16000)
    return buffer.getvalue()


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured record as a handler other than ours would see it (message and exception)."""
    return "\n".join([caplog.text, *(r.getMessage() for r in caplog.records)])


def _log_leaks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return NUMBER.findall(_logged(caplog))


def test_an_uploaded_recording_that_fails_keeps_its_file_name_masked(
        settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    def no_model() -> Any:
        raise AssertionError("a file refused when decoded never loads the speech model")

    with TestClient(create_app(settings, pipeline=no_model)) as client:
        app: Any = client.app
        with app.state.session_factory() as session:
            sue = {"Authorization": f"Bearer {create_user(session, 'sue', 'supervisor', 't1')[1]}"}
            create_user(session, "alice", "agent", "t1")
            root = {"Authorization": f"Bearer {create_user(session, 'root', 'admin')[1]}"}
        created = client.post(f"{API}/calls", headers=sue, data={"agent": "alice"},
                              files={"file": (FILE_NAME, _silent_wav(), "audio/wav")})
        assert created.status_code == 202, created.text
        assert make_worker(app).run_once()
        call = client.get(f"{API}/calls/{created.json()['id']}", headers=sue).json()
        assert call["status"] == "failed" and call["error"] == "silent: every sample is zero (digital silence)"
        served = {"call": json.dumps(call, ensure_ascii=False),
                  "failed calls": client.get(f"{API}/calls", params={"status": "failed"}, headers=sue).text,
                  "jobs": client.get(f"{API}/jobs", headers=root).text,
                  "failed jobs": client.get(f"{API}/jobs", params={"status": "failed"}, headers=root).text}
    assert "***********_********.wav" in served["jobs"]
    for name, text in served.items():
        assert not _leaks(text), (name, _leaks(text))
    assert not _log_leaks(caplog)


def test_errors_results_and_payloads_are_stored_masked_by_whoever_writes_them(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    call_pk = "1234567abcdef0123456789abcdef012"  # a row id with seven digits in a row: never masked
    try:
        with sessions() as s:
            call = Call(id=call_pk, call_id="c1", agent="alice", status="processing", source="audio")
            job = jobs.enqueue(s, "rescore", call_pk=call_pk, payload={"filename": FILE_NAME, "bytes": 1234567})
            s.add(call)
            s.commit()
            call.status, call.error = "failed", f"{FILE_NAME}: corrupt or truncated WAV file"
            jobs.finish(job, "failed", error=f"internal error while processing: ValueError: {PHONE}",
                        result={"errors": [{"call": call_pk, "error": f"said {PHONE[:3]} {PHONE[3:]}"}],
                                "failures": [{"path": f"/in/{FILE_NAME}", "error": f"/in/{FILE_NAME}: empty"}]})
            s.commit()
        with sessions() as s:
            stored_call, stored_job = s.get(Call, call_pk), s.get(Job, job.id)
            assert stored_call is not None and stored_job is not None
            assert stored_call.error == "***********_********.wav: corrupt or truncated WAV file"
            assert stored_job.error == "internal error while processing: ValueError: ***********"
            assert stored_job.payload == {"filename": "***********_********.wav", "bytes": 1234567}
            assert stored_job.result == {
                "errors": [{"call": call_pk, "error": "said *** ********"}],
                "failures": [{"path": "/in/***********_********.wav", "error": "/in/***********_********.wav: empty"}]}
    finally:
        engine.dispose()


def test_log_records_are_masked_when_they_are_made(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("qa_engine.app.worker", "qa_engine.audio", "api.routers.calls"):
        log = logging.getLogger(name)
        log.info("job %s failed: %s", 7, f"/in/{FILE_NAME}: corrupt", extra={"job_id": 7})
        try:
            raise ValueError(f"cannot decode /in/{FILE_NAME}")
        except ValueError:
            log.exception("%s: unexpected error", f"/in/{FILE_NAME}")
    assert caplog.records[0].getMessage() == "job 7 failed: /in/***********_********.wav: corrupt"
    assert "ValueError: cannot decode /in/***********_********.wav" in caplog.text
    assert not _log_leaks(caplog)


def test_batch_failures_are_masked_in_the_rows_the_api_the_summary_and_the_logs(
        db_url: str, tmp_path: Path, recognizer: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    source = tmp_path / "src"
    source.mkdir()
    (source / FILE_NAME).write_text("this is not a recording\n")
    # its sidecar files it under another team than alice's: a warning names the sidecar
    (source / FILE_NAME).with_suffix(".json").write_text(json.dumps({"agent": "alice", "team": "t2"}))
    (source / f"{PHONE}_20261206.flac").write_bytes(b"")
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    try:
        with sessions() as s:
            create_user(s, "alice", "agent", "t1")
        options = BatchOptions(source=source, workers=1, report_dir=tmp_path / "report", lease_s=5.0,
                               pipeline=PipelineOptions(speakers=1))
        summary = run_batch(options, sessions, data_dir=tmp_path / "data", recognizer=recognizer)
        assert summary["failed"] == 2
        with sessions() as s:
            rows = list(s.scalars(select(Call)))
            run = s.scalar(select(Job).where(Job.kind == "batch"))
        assert {r.status for r in rows} == {"failed"} and run is not None and run.status == "failed"
        errors = sorted(r.error or "" for r in rows)
        assert errors[0].endswith("***********_********.flac: file is empty (0 bytes)"), errors
        assert "***********_********.wav: unsupported format" in errors[1], errors
        settings = Settings(data_dir=tmp_path / "data", db_url=db_url, workers=0)
        with TestClient(create_app(settings)) as client:
            app: Any = client.app
            with app.state.session_factory() as session:
                root = {"Authorization": f"Bearer {create_user(session, 'root', 'admin')[1]}"}
            served = {f"call {r.id}": client.get(f"{API}/calls/{r.id}", headers=root).text for r in rows}
            served["jobs"] = client.get(f"{API}/jobs", params={"kind": "batch"}, headers=root).text
        texts: dict[str, str] = {"rows": json.dumps(errors), "run": json.dumps([run.error, run.result, run.payload]),
                                 "summary": format_summary(summary), **served}
        for name, text in texts.items():
            assert not _leaks(text), (name, _leaks(text))
        assert "***********_********.json: agent 'alice' is in team 't1'" in caplog.text
        assert not _log_leaks(caplog)
    finally:
        engine.dispose()
