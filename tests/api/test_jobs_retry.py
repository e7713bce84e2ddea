"""Jobs that keep failing end ``failed`` with the reason; admins list them and queue them again (API and CLI)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from qa_engine.app.models import AuditEntry, Job

from .test_processing import Service, service, service_factory, silent_wav  # noqa: F401 - fixtures

SCRIPT = Path(sys.executable).with_name("qa-engine")


def test_failed_jobs_are_listed_and_retried(service: Service, db_url: str) -> None:  # noqa: F811
    root, sue = service.user("root", "admin"), service.user("sue", "supervisor", "t1")
    service.user("alice", "agent", "t1")
    call_id = service.upload(sue, silent_wav(), agent="alice").json()["id"]
    worker = service.worker()
    assert worker.run_once()
    failed = service.call(sue, call_id)
    assert failed["status"] == "failed" and "silent" in failed["error"]

    assert service.client.get("/api/v1/jobs?status=failed", headers=sue).status_code == 403
    listed = service.client.get("/api/v1/jobs", params={"status": "failed"}, headers=root).json()
    [job] = listed["items"]
    assert listed["total"] == 1 and job["kind"] == "score_audio" and "silent" in job["error"]
    assert service.client.get("/api/v1/jobs", params={"status": "done"}, headers=root).json()["total"] == 0

    assert service.client.post(f"/api/v1/jobs/{job['id']}/retry", headers=sue).status_code == 403
    assert service.client.post("/api/v1/jobs/999/retry", headers=root).status_code == 404
    retried = service.client.post(f"/api/v1/jobs/{job['id']}/retry", headers=root)
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "queued" and retried.json()["attempts"] == 0
    assert service.call(sue, call_id)["status"] == "queued"
    assert service.client.post(f"/api/v1/jobs/{job['id']}/retry", headers=root).status_code == 409  # not failed
    with service.app.state.session_factory() as session:
        assert session.scalar(select(AuditEntry.actor).where(AuditEntry.action == "job.retry")) == "root"
    assert worker.run_once()  # still silent: failed again
    assert service.count(Job, Job.status == "failed") == 1

    if not db_url.startswith("sqlite"):
        return
    args = ["--data-dir", str(service.settings.data_dir), "--db", db_url]
    listing = subprocess.run([str(SCRIPT), "jobs", "list", "--status", "failed", *args], capture_output=True,
                             text=True, timeout=60, check=False)
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.startswith(f"{job['id']}\tscore_audio\tfailed\tattempts=1\tcall={call_id}\t")
    again = subprocess.run([str(SCRIPT), "jobs", "retry", str(job["id"]), *args], capture_output=True, text=True,
                           timeout=60, check=False)
    assert again.returncode == 0 and "queued again" in again.stdout, again.stderr
    assert service.call(sue, call_id)["status"] == "queued"
    twice = subprocess.run([str(SCRIPT), "jobs", "retry", str(job["id"]), *args], capture_output=True, text=True,
                           timeout=60, check=False)
    assert twice.returncode == 1 and "only failed jobs" in twice.stderr


@pytest.mark.parametrize("command", [["list"], ["retry", "1"]])
def test_jobs_on_a_database_not_upgraded_say_to_upgrade_it(empty_db_url: str, tmp_path: Path,
                                                            command: list[str]) -> None:
    """The jobs commands read today's tables without migrating: an old database is a clear error, no traceback."""
    proc = subprocess.run([str(SCRIPT), "jobs", *command, "--data-dir", str(tmp_path / "data"), "--db", empty_db_url],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "qa-engine db upgrade" in proc.stderr and proc.stdout == ""
