"""The retention policy: whole calls and recordings past their age are purged, by ``qa-engine purge`` and by the
worker once an hour, on a real database (SQLite and PostgreSQL) with real recordings on disk.

A purged call goes exactly as ``DELETE /calls/{id}`` removes it (one deletion function), audited the same way; a
purged recording leaves the call, its report and its score, and the audio endpoint says why there is no sound.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.background import make_worker
from qa_engine.app.audio_files import audio_root
from qa_engine.app.models import AuditEntry, Call, FindingRow, Job, SearchUtterance, utcnow
from qa_engine.app.retention import AUDIT_ACTION, RetentionPolicy, purge, purge_if_due
from qa_engine.app.settings import Settings, load_settings
from qa_engine.errors import QaEngineError

Headers = dict[str, str]
API = "/api/v1"
SCRIPT = Path(sys.executable).with_name("qa-engine")
RECORDING = Path(__file__).resolve().parents[1] / "data" / "call_en_mono.wav"


def _qa_engine(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    assert SCRIPT.exists(), f"console script not installed next to {sys.executable}"
    return subprocess.run([str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, **(env or {})})


class Store:
    """Calls stored through the API (report, findings, search index), aged and given recordings on disk."""

    def __init__(self, client: TestClient, settings: Settings, upload: Callable[..., str],
                 team: dict[str, Headers]) -> None:
        self.client, self.settings, self.upload, self.team = client, settings, upload, team
        self.sessions = client.app.state.session_factory  # type: ignore[attr-defined]

    def call(self, age_days: float, *, recording: bool = True, kept_original: bool = False,
             status: str = "done", audio_of: str | None = None) -> str:
        """A scored call of alice's stored ``age_days`` ago; with a redacted recording (and the unredacted original
        when ``kept_original``), or sharing ``audio_of``'s; ``status`` queued/processing puts it back in the queue."""
        pk = self.upload(self.team["alice"], call_id=f"c-{age_days}-{status}")
        with self.sessions() as session:
            call = session.get(Call, pk)
            assert call is not None
            call.created_at = utcnow() - timedelta(days=age_days)
            call.status = status
            if audio_of is not None:
                twin = session.get(Call, audio_of)
                assert twin is not None
                call.audio_path, call.audio_content_type = twin.audio_path, twin.audio_content_type
            elif recording:
                call.audio_path = str(self._recording(pk, kept_original))
                call.audio_content_type, call.audio_filename = "audio/wav", "call.wav"
            call.source = "audio" if call.audio_path else call.source
            if status in ("queued", "failed"):
                session.add(Job(kind="score_audio", call_pk=pk, status=status))
            session.commit()
        return pk

    def _recording(self, pk: str, kept_original: bool) -> Path:
        folder = audio_root(self.settings.data_dir) / pk[:2]
        folder.mkdir(parents=True, exist_ok=True)
        original = folder / pk
        copy = folder / f"{pk}.redacted.wav"
        shutil.copyfile(RECORDING, copy)
        if kept_original:
            shutil.copyfile(RECORDING, original)
        return copy

    def files(self) -> list[Path]:
        return sorted(p for p in audio_root(self.settings.data_dir).rglob("*") if p.is_file())

    def count(self, model: Any, *where: Any) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    def get(self, pk: str) -> Call | None:
        with self.sessions() as session:
            return session.get(Call, pk)

    def audits(self, action: str) -> list[AuditEntry]:
        with self.sessions() as session:
            return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                        .order_by(AuditEntry.id)))

    def purge(self, policy: RetentionPolicy, **options: Any) -> Any:
        with self.sessions() as session:
            return purge(session, policy, **options)


@pytest.fixture()
def store(client: TestClient, settings: Settings, upload: Callable[..., str],
          team: dict[str, Headers]) -> Store:
    return Store(client, settings, upload, team)


def _call_rows(store: Store, pk: str) -> int:
    return sum(store.count(model, model.call_pk == pk) for model in (FindingRow, SearchUtterance)) + \
        store.count(Call, Call.id == pk)


def test_whole_calls_older_than_the_cut_off_go_as_delete_removes_them(store: Store) -> None:
    old, young = store.call(40, kept_original=True), store.call(10)
    queued, processing = store.call(50, status="queued"), store.call(50, status="processing")
    transcript_only = store.call(45, recording=False)
    old_files = [p for p in store.files() if p.name.startswith(old)]
    assert len(old_files) == 2 and _call_rows(store, old) > 1

    summary = store.purge(RetentionPolicy(call_days=30), batch=1)

    assert summary.calls == 2 and summary.recordings == 0  # old and transcript_only; one per batch
    for pk in (old, transcript_only):
        assert _call_rows(store, pk) == 0
        assert store.client.get(f"{API}/calls/{pk}", headers=store.team["root"]).status_code == 404
    assert not any(p.exists() for p in old_files)  # the redacted copy and the kept original
    for pk in (young, queued, processing):
        assert store.get(pk) is not None
    assert [p.name for p in store.files()] == sorted(f"{pk}.redacted.wav" for pk in (young, queued, processing))
    assert store.count(Job, Job.call_pk == queued) == 1
    deletes = store.audits("call.delete")  # each call audited as DELETE audits it, by "retention"
    assert {(a.actor, a.call_pk) for a in deletes} == {("retention", old), ("retention", transcript_only)}
    assert deletes[0].before["agent"] == "alice" and deletes[0].before["status"] == "done"
    run = store.audits(AUDIT_ACTION)
    assert len(run) == 1 and run[0].actor == "retention"
    assert run[0].after["calls"] == 2 and run[0].after["recordings"] == 0
    assert run[0].after["calls_before"] == summary.calls_before.isoformat()
    assert summary.calls_before.isoformat()[:10] in (run[0].detail or "")


def test_audio_only_purge_keeps_the_call_and_says_the_recording_was_deleted(store: Store) -> None:
    old, young = store.call(20, kept_original=True), store.call(3)
    shared = store.call(25, audio_of=young)  # a duplicate serving the young call's recording
    transcript_only = store.call(30, recording=False)
    root, alice = store.team["root"], store.team["alice"]
    before = store.client.get(f"{API}/calls/{old}", headers=alice).json()
    assert before["audio_url"] and before["audio_deleted_at"] is None

    summary = store.purge(RetentionPolicy(call_days=None, audio_days=7))

    assert summary.calls == 0 and summary.recordings == 2  # old and shared; transcript_only has none
    after = store.client.get(f"{API}/calls/{old}", headers=alice).json()
    assert after["report"] == before["report"] and after["score"] == before["score"] is not None
    assert after["audio_url"] is None and after["audio_deleted_at"] is not None
    assert _call_rows(store, old) == _call_rows(store, young)  # findings and search rows stay
    for path in ("audio", "audio/original"):
        gone = store.client.get(f"{API}/calls/{old}/{path}", headers=root)
        assert gone.status_code == 410, gone.text
        assert "deleted by the retention policy" in gone.json()["detail"]
    assert not any(p.name.startswith(old) for p in store.files())  # the copy and the kept original
    assert store.client.get(f"{API}/calls/{young}/audio", headers=alice).status_code == 200  # still its own
    assert store.get(shared).audio_deleted_at is not None  # type: ignore[union-attr]
    assert store.get(transcript_only).audio_deleted_at is None  # type: ignore[union-attr]
    audited = store.client.get(f"{API}/calls/{old}/audit", headers=root).json()
    assert any(a["action"] == "audio.delete" and a["actor"] == "retention" for a in audited)
    assert store.purge(RetentionPolicy(audio_days=7)).recordings == 0  # nothing left to do


def test_a_failed_call_whose_recording_was_purged_is_not_retried(store: Store) -> None:
    failed = store.call(20, status="failed")
    assert store.purge(RetentionPolicy(audio_days=7)).recordings == 1
    with store.sessions() as session:
        job_id = session.scalar(select(Job.id).where(Job.call_pk == failed))
    retried = store.client.post(f"{API}/jobs/{job_id}/retry", headers=store.team["root"])
    assert retried.status_code == 409 and "deleted by the retention policy" in retried.json()["detail"]


def test_both_ages_recordings_first_then_whole_calls(store: Store) -> None:
    ancient, middle, young = store.call(100), store.call(20), store.call(2)
    summary = store.purge(RetentionPolicy(call_days=60, audio_days=10))
    assert (summary.calls, summary.recordings) == (1, 1)
    assert store.get(ancient) is None
    assert store.get(middle).audio_deleted_at is not None  # type: ignore[union-attr]
    assert store.get(young).audio_path is not None  # type: ignore[union-attr]


def test_dry_run_changes_nothing_and_the_command_prints_counts(store: Store, settings: Settings) -> None:
    old, young = store.call(40), store.call(5)
    files, audits = store.files(), store.count(AuditEntry)
    where = ("--data-dir", settings.data_dir, "--db", settings.database_url)

    dry = _qa_engine("purge", "--older-than", "30", "--dry-run", *where)
    assert dry.returncode == 0, dry.stderr
    assert "calls: 1 would be deleted" in dry.stdout and "recordings: 0 would be deleted" in dry.stdout
    assert store.files() == files and store.count(AuditEntry) == audits and store.get(old) is not None

    audio = _qa_engine("purge", "--audio-only", *where, env={"QA_ENGINE_AUDIO_RETENTION_DAYS": "30"})
    assert audio.returncode == 0, audio.stderr
    assert "recordings: 1 deleted" in audio.stdout and "calls: 0 deleted" in audio.stdout
    assert store.get(old).audio_deleted_at is not None  # type: ignore[union-attr]

    whole = _qa_engine("purge", *where, env={"QA_ENGINE_RETENTION_DAYS": "30"})
    assert whole.returncode == 0, whole.stderr
    assert "calls: 1 deleted" in whole.stdout
    assert store.get(old) is None and store.get(young) is not None
    assert [a.actor for a in store.audits(AUDIT_ACTION)] == ["retention", "retention"]


def test_purge_without_an_age_is_refused_with_a_clear_line(settings: Settings) -> None:
    where = ("--data-dir", settings.data_dir, "--db", settings.database_url)
    off = {"QA_ENGINE_RETENTION_DAYS": "0", "QA_ENGINE_AUDIO_RETENTION_DAYS": ""}
    for args in ((), ("--audio-only",), ("--dry-run",)):
        proc = _qa_engine("purge", *args, *where, env=off)
        assert proc.returncode == 2, proc.stdout
        assert proc.stderr.startswith("qa-engine: error: ") and "--older-than" in proc.stderr
        assert "Traceback" not in proc.stderr
    bad = _qa_engine("purge", "--older-than", "-3", *where)
    assert bad.returncode == 2 and "--older-than" in bad.stderr and "Traceback" not in bad.stderr
    audio_only_unset = _qa_engine("purge", "--audio-only", *where, env={"QA_ENGINE_RETENTION_DAYS": "30",
                                                                          "QA_ENGINE_AUDIO_RETENTION_DAYS": ""})
    assert audio_only_unset.returncode == 2 and "QA_ENGINE_AUDIO_RETENTION_DAYS" in audio_only_unset.stderr


def test_the_worker_purges_by_itself_at_most_once_an_hour(store: Store, client: TestClient,
                                                          settings: Settings) -> None:
    old = store.call(40)
    policy = {"retention_days": 30, "audio_retention_days": 7}
    client.app.state.settings = settings.model_copy(update=policy)  # type: ignore[attr-defined]
    worker, other = make_worker(client.app, poll_s=0.05), make_worker(client.app, 1, poll_s=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while store.get(old) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert store.get(old) is None, "the worker did not purge"
        second = store.call(50)
        assert other.purge_if_due() is None  # within the hour: the database says it ran already
        assert store.get(second) is not None and len(store.audits(AUDIT_ACTION)) == 1
        with store.sessions() as session:  # an hour later, the next run is due
            _age_last_run(session, hours=1.1)
        assert other.purge_if_due() is not None and store.get(second) is None
    finally:
        stop.set()
        thread.join(timeout=10)
    assert [a.actor for a in store.audits(AUDIT_ACTION)] == ["retention", "retention"]


def _age_last_run(session: Session, hours: float) -> None:
    from qa_engine.app.models import MaintenanceRun

    session.execute(update(MaintenanceRun).values(started_at=utcnow() - timedelta(hours=hours)))
    session.commit()


def test_the_worker_does_not_purge_when_no_setting_is_on(store: Store, client: TestClient) -> None:
    old = store.call(4000)
    assert make_worker(client.app).purge_if_due() is None
    assert store.get(old) is not None and store.audits(AUDIT_ACTION) == []


def test_purge_if_due_is_one_run_for_two_callers(store: Store) -> None:
    store.call(40)
    policy = RetentionPolicy(call_days=30)
    with store.sessions() as first, store.sessions() as second:
        assert purge_if_due(first, policy, every_s=3600) is not None
        assert purge_if_due(second, policy, every_s=3600) is None


@pytest.mark.parametrize(("env", "message"), [
    ({"QA_ENGINE_RETENTION_DAYS": "-1"}, "QA_ENGINE_RETENTION_DAYS must be a whole number of days"),
    ({"QA_ENGINE_RETENTION_DAYS": "thirty"}, "QA_ENGINE_RETENTION_DAYS must be a whole number of days"),
    ({"QA_ENGINE_AUDIO_RETENTION_DAYS": "1.5"}, "QA_ENGINE_AUDIO_RETENTION_DAYS must be a whole number of days"),
    ({"QA_ENGINE_RETENTION_DAYS": "30", "QA_ENGINE_AUDIO_RETENTION_DAYS": "90"},
     "QA_ENGINE_AUDIO_RETENTION_DAYS (90) must not be more than QA_ENGINE_RETENTION_DAYS (30)"),
])
def test_bad_retention_settings_stop_the_start(env: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(QaEngineError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(tmp_path)
    proc = _qa_engine("worker", "--once", "--data-dir", tmp_path)  # env is inherited: refuses to start
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def test_unset_or_zero_keeps_forever(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("QA_ENGINE_RETENTION_DAYS", "0")
    monkeypatch.setenv("QA_ENGINE_AUDIO_RETENTION_DAYS", "")
    settings = load_settings(tmp_path)
    assert settings.retention_days is None and settings.audio_retention_days is None
    assert not RetentionPolicy.from_settings(settings).enabled
    monkeypatch.setenv("QA_ENGINE_AUDIO_RETENTION_DAYS", "30")
    monkeypatch.setenv("QA_ENGINE_RETENTION_DAYS", "30")
    policy = RetentionPolicy.from_settings(load_settings(tmp_path))
    assert policy == RetentionPolicy(call_days=30, audio_days=30) and policy.enabled
