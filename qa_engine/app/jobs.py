"""The job queue, kept in the ``jobs`` table so it survives restarts and is shared by every worker process.

A job is claimed with one conditional UPDATE (``... WHERE id = :id AND status = 'queued'``) and its row
count, which is atomic on SQLite and PostgreSQL alike: two workers never run the same job. A running
job's worker refreshes ``heartbeat_at``; a job whose heartbeat stopped (crash, kill, restart) is queued
again, up to :data:`MAX_ATTEMPTS` runs; then it ends ``failed`` with the reason (as does a job whose work failed).
Failed jobs are listed (:func:`list_jobs`, ``GET /jobs?status=failed``, ``qa-engine jobs list --status failed``) and
queued again by an admin (:func:`retry_job`, ``POST /jobs/{id}/retry``, ``qa-engine jobs retry ID``).
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from qa_engine.app.access import as_utc, require_role
from qa_engine.app.audit import record
from qa_engine.app.errors import Conflict, Invalid, NotFound
from qa_engine.app.models import JOB_STATUSES, Call, Job, User, utcnow

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
#: The kinds the service's workers run. Other kinds (``batch`` run records) are only recorded here.
QUEUE_KINDS = ("score_audio", "rescore")
HEARTBEAT_S = 10.0
STALE_AFTER_S = 60.0
#: why a job ends when its call is deleted as it runs (``DELETE /calls/{id}`` does not wait for the worker)
CALL_DELETED = "the call was deleted while it was being processed"


def worker_name(index: int = 0) -> str:
    """``host:pid:index``: lets a restarted process tell its dead predecessor's jobs from live ones."""
    return f"{socket.gethostname()}:{os.getpid()}:{index}"


def queued_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Job).where(Job.status == "queued",
                                                                       Job.kind.in_(QUEUE_KINDS))) or 0


def enqueue(session: Session, kind: str, *, call_pk: str | None = None, payload: dict[str, Any] | None = None,
            created_by: str | None = None) -> Job:
    """Add a queued job to ``session`` (committed by the caller, with whatever it belongs to)."""
    job = Job(kind=kind, call_pk=call_pk, payload=payload, created_by=created_by, status="queued", attempts=0)
    session.add(job)
    return job


def claim_next(session: Session, worker: str) -> Job | None:
    """Claim the oldest queued job for ``worker`` (commits); None when the queue is empty."""
    for _ in range(5):  # another worker may win the race for the first candidates
        candidates = session.scalars(select(Job.id).where(Job.status == "queued", Job.kind.in_(QUEUE_KINDS))
                                     .order_by(Job.id).limit(4)).all()
        if not candidates:
            return None
        for job_id in candidates:
            now = utcnow()
            result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
                update(Job).where(Job.id == job_id, Job.status == "queued")
                .values(status="running", worker=worker, started_at=now, heartbeat_at=now,
                        attempts=Job.attempts + 1, error=None)
                .execution_options(synchronize_session=False))
            session.commit()
            if result.rowcount == 1:
                job = session.get(Job, job_id, populate_existing=True)
                if job is not None:
                    return job
    return None


def heartbeat(session: Session, job_id: int, worker: str) -> bool:
    """Refresh a running job's heartbeat; False if the job is no longer this worker's (commits)."""
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Job).where(Job.id == job_id, Job.worker == worker, Job.status == "running")
        .values(heartbeat_at=utcnow()).execution_options(synchronize_session=False))
    session.commit()
    return result.rowcount == 1


def finish(job: Job, status: str, *, result: dict[str, Any] | None = None, error: str | None = None) -> None:
    """Mark ``job`` done or failed (the caller commits, with the job's effects); its texts are stored masked
    (:class:`~qa_engine.app.models.Job`)."""
    job.status = status
    job.result = result
    job.error = error
    job.finished_at = utcnow()


def call_was_deleted(session: Session, call_pk: str) -> bool:
    """After a job's work on a call failed: roll back, and tell whether the call is gone (deleted meanwhile, which is
    then why it failed: its rows and files vanished under the job)."""
    session.rollback()
    return session.scalar(select(Call.id).where(Call.id == call_pk)) is None  # the database's answer, not the session's


def pid_is_gone(worker: str | None) -> bool:
    """True when ``worker`` ran on this host in a process that no longer exists."""
    if not worker:
        return False
    host, _, rest = worker.partition(":")
    pid_text = rest.split(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def recover_interrupted(session: Session, *, stale_after_s: float = STALE_AFTER_S,
                        max_attempts: int = MAX_ATTEMPTS, now: datetime | None = None) -> tuple[int, int]:
    """Queue again the running jobs whose worker died (stale heartbeat, or a dead process on this host).

    A job that has already run ``max_attempts`` times fails instead, and so does its call, with the reason.
    Returns (requeued, failed); commits.
    """
    now = now or utcnow()
    cutoff = now - timedelta(seconds=stale_after_s)
    requeued = failed = 0
    for job in session.scalars(select(Job).where(Job.status == "running")).all():
        beat = as_utc(job.heartbeat_at or job.started_at)
        if not (beat is None or beat < cutoff or pid_is_gone(job.worker)):
            continue
        previous_worker = job.worker
        call = session.get(Call, job.call_pk) if job.call_pk else None
        if job.kind not in QUEUE_KINDS:  # e.g. a killed batch run: its files are re-claimed by the next run
            finish(job, "failed", error="interrupted (its process stopped)")
            failed += 1
        elif job.attempts >= max_attempts:
            reason = f"interrupted {job.attempts} times (worker stopped while processing); giving up"
            finish(job, "failed", error=reason)
            if call is not None and call.status in ("queued", "processing"):
                call.status, call.error, call.updated_at = "failed", reason, now
            failed += 1
        else:
            job.status, job.worker, job.heartbeat_at = "queued", None, None
            if call is not None and call.status == "processing":
                call.status, call.updated_at = "queued", now
            requeued += 1
        logger.warning("job %s (%s) was interrupted on %s: %s", job.id, job.kind, previous_worker or "?",
                       job.status)
    session.commit()
    return requeued, failed


def list_jobs(session: Session, *, status: str | None = None, kind: str | None = None, limit: int = 50,
              offset: int = 0) -> tuple[list[Job], int]:
    """One page of jobs, newest first, and how many match in all (for admins and the CLI)."""
    where = []
    if status is not None:
        if status not in JOB_STATUSES:
            raise Invalid(f"status must be one of {', '.join(JOB_STATUSES)}, got {status!r}")
        where.append(Job.status == status)
    if kind is not None:
        where.append(Job.kind == kind)
    total = session.scalar(select(func.count()).select_from(Job).where(*where)) or 0
    rows = session.scalars(select(Job).where(*where).order_by(Job.id.desc()).limit(limit).offset(offset))
    return list(rows), total


def admin_list_jobs(session: Session, user: User, **query: Any) -> tuple[list[Job], int]:
    """:func:`list_jobs` for an admin (Forbidden otherwise)."""
    require_role(user, "admin")
    return list_jobs(session, **query)


def retry_job(session: Session, job_id: int, *, actor: str) -> Job:
    """Queue a failed job again from scratch (attempts 0); its call, if any, goes back to ``queued``. Commits.

    Raises:
        NotFound: no such job.
        Conflict: the job is not failed (queued, running or done), or is not a kind the workers run.
    """
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found")
    if job.status != "failed" or job.kind not in QUEUE_KINDS:
        what = job.status if job.kind in QUEUE_KINDS else f"a {job.kind} record (re-run that command instead)"
        raise Conflict(f"job {job_id} cannot be retried: it is {what}; only failed jobs are retried")
    call = session.get(Call, job.call_pk) if job.call_pk else None
    if job.kind == "score_audio" and call is not None and call.audio_deleted_at is not None:
        raise Conflict(f"job {job_id} cannot be retried: its recording was deleted by the retention policy")
    if job.kind == "score_audio" and (call is None or not call.audio_path):
        raise Conflict(f"job {job_id} cannot be retried: its call was deleted")
    before = {"status": job.status, "attempts": job.attempts, "error": job.error}
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Job).where(Job.id == job_id, Job.status == "failed")
        .values(status="queued", attempts=0, error=None, result=None, worker=None, started_at=None,
                heartbeat_at=None, finished_at=None).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        session.rollback()
        raise Conflict(f"job {job_id} was retried by someone else just now")
    if call is not None and call.status == "failed" and job.kind == "score_audio":
        call.status, call.error, call.updated_at = "queued", None, utcnow()
    record(session, actor, "job.retry", call_pk=job.call_pk, before=before, after={"status": "queued"},
           detail=f"job {job_id} ({job.kind})")
    session.commit()
    session.refresh(job)
    logger.info("job %s (%s) queued again by %s (was: %s)", job_id, job.kind, actor, before["error"])
    return job


def admin_retry_job(session: Session, user: User, job_id: int) -> Job:
    """:func:`retry_job` for an admin (Forbidden otherwise)."""
    require_role(user, "admin")
    return retry_job(session, job_id, actor=user.name)
