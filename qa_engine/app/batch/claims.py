"""The batch's side of the service database: claims, results, heartbeats and the run record.

Exactly once, without a schema change: a call's primary key is derived from its content hash, pack
and pack version (:func:`call_pk`), so the primary key is the unique guard. A run *claims* a file by
inserting its row as ``processing`` (or by taking over a ``failed`` row, or a ``processing`` row whose
heartbeat — ``updated_at`` — is older than the lease: its run was killed). Results are written only
onto a row that is still ``processing``. A killed run therefore leaves rows that the next run takes
over once their lease has run out; nothing is scored twice.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from qa_engine.app import audio_files as storage
from qa_engine.app.access import as_utc
from qa_engine.app.audio_redaction import AudioRedaction, redacted_path
from qa_engine.app.jobs import finish, pid_is_gone
from qa_engine.app.models import Call, Job, User, utcnow
from qa_engine.app.score_call import save_report
from qa_engine.pii import mask_text
from qa_engine.redact import redact_audio
from qa_engine.types import CallReport

logger = logging.getLogger(__name__)

ClaimOutcome = Literal["claimed", "done", "busy"]
JOB_KIND = "batch"


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def call_pk(content_hash: str, pack_id: str, pack_version: str) -> str:
    """The row id of a recording scored with one pack version (32 hex characters, like the service's ids)."""
    return hashlib.sha256(f"batch:{content_hash}:{pack_id}:{pack_version}".encode()).hexdigest()[:32]


class BatchClaims:
    """Claims and writes for one batch run (one session per operation: safe from several threads)."""

    def __init__(self, sessions: sessionmaker[Session], *, lease_s: float = 60.0,
                 data_dir: Path | None = None, store_audio: bool = True,
                 redaction: AudioRedaction | None = None) -> None:
        self.sessions = sessions
        self.lease_s = lease_s
        self.data_dir = data_dir
        self.store_audio = store_audio and data_dir is not None
        self.redaction = redaction or AudioRedaction()
        self.run_id: int | None = None
        self._in_flight: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    # -- lookups -------------------------------------------------------------------------------
    def existing(self, pk: str, content_hash: str | None, pack_id: str, pack_version: str) -> Any:
        """The finished row for this content and pack version, if any (from the batch or from an upload)."""
        with self.sessions() as s:
            row = s.get(Call, pk)
            if row is not None and row.status == "done":
                return row
            if content_hash is None:
                return None
            return s.scalar(select(Call).where(Call.content_hash == content_hash, Call.pack == pack_id,
                                               Call.pack_version == pack_version, Call.status == "done").limit(1))

    def team_of(self, agent: str) -> str | None:

        with self.sessions() as s:
            return s.scalar(select(User.team).where(User.name == agent))

    # -- claims --------------------------------------------------------------------------------
    def claim(self, pk: str, fields: dict[str, Any]) -> ClaimOutcome:
        """Insert the row as ``processing``, or take over a failed or abandoned one."""
        now = utcnow()
        with self.sessions() as s:
            s.add(Call(id=pk, status="processing", source="audio", created_at=now, updated_at=now, **fields))
            try:
                s.commit()
                self._hold(pk)
                return "claimed"
            except IntegrityError:
                s.rollback()
            stale = now - timedelta(seconds=self.lease_s)
            taken = s.execute(
                update(Call).where(Call.id == pk, (Call.status == "failed")
                                   | ((Call.status == "processing") & (Call.updated_at < stale)))
                .values(status="processing", error=None, updated_at=now, **fields)
                .execution_options(synchronize_session=False))
            s.commit()
            if getattr(taken, "rowcount", 0) == 1:
                self._hold(pk)
                return "claimed"
            status = s.scalar(select(Call.status).where(Call.id == pk))
            return "done" if status == "done" else "busy"

    def _hold(self, pk: str) -> None:
        with self._lock:
            self._in_flight.add(pk)

    def _release(self, pk: str) -> None:
        with self._lock:
            self._in_flight.discard(pk)

    def release_all(self) -> None:
        """Give back claims not finished (a clean stop): the next run takes them at once."""
        with self._lock:
            pks = list(self._in_flight)
            self._in_flight.clear()
        if pks:
            with self.sessions() as s:
                long_ago = datetime(2000, 1, 1, tzinfo=UTC)
                s.execute(update(Call).where(Call.id.in_(pks), Call.status == "processing")
                          .values(updated_at=long_ago).execution_options(synchronize_session=False))
                s.commit()

    # -- results -------------------------------------------------------------------------------
    def write_report(self, pk: str, report: CallReport, source_path: Path) -> bool:
        """Store the report on the claimed row (``call.scored`` queued in the same transaction)."""
        try:
            with self.sessions() as s:
                call = s.get(Call, pk, with_for_update=True)
                if call is None or call.status != "processing":
                    logger.warning("%s: row %s is no longer claimed (%s); result dropped", source_path, pk,
                                   call.status if call else "missing")
                    return False
                if self.store_audio:
                    self._store_audio(call, source_path, report)
                save_report(s, call, report)
                s.commit()
                return True
        finally:
            self._release(pk)

    def write_failure(self, pk: str, reason: str) -> None:
        """Fail the claimed row with ``reason`` (set on the row: the model stores it masked, it names the file)."""
        try:
            with self.sessions() as s:
                call = s.get(Call, pk, with_for_update=True)
                if call is None or call.status != "processing":
                    return
                now = utcnow()
                call.status, call.error, call.finished_at, call.updated_at = "failed", reason[:4000], now, now
                s.commit()
        finally:
            self._release(pk)

    def record_failure(self, pk: str, fields: dict[str, Any], reason: str) -> None:
        """A file that failed before it could be claimed normally (unreadable): claim and fail it."""
        if self.claim(pk, fields) == "claimed":
            self.write_failure(pk, reason)

    def _store_audio(self, call: Any, source_path: Path, report: CallReport) -> None:
        """Put the recording into the service's store so ``GET /calls/{id}/audio`` works: its redacted copy (every
        spoken identifier silenced, :mod:`qa_engine.app.audio_redaction`), or the file as it is when nothing was
        found. The unredacted original is never copied (it stays in the batch's source)."""
        assert self.data_dir is not None
        try:
            if report.redactions:
                original = storage.stored_path(self.data_dir, call.content_hash or file_sha256(source_path))
                with source_path.open("rb") as fh:
                    kind = storage.sniff_format(fh.read(16))
                content_type = storage.CONTENT_TYPES.get(kind[0] if kind else "", "")
                target = redacted_path(original, content_type)
                written = redact_audio(source_path, report.redactions, target, mode=self.redaction.mode,
                                       margin_s=self.redaction.margin_s)
                call.audio_content_type, size = written.content_type, target.stat().st_size
                name = Path(call.audio_filename or mask_text(source_path.name))
                call.audio_filename = name.stem + target.suffix
            else:
                staging = storage.StagingFile(self.data_dir)
                try:
                    with source_path.open("rb") as fh:
                        for block in iter(lambda: fh.read(1 << 20), b""):
                            staging.write(block)
                    staged = staging.finish()
                except BaseException:
                    staging.discard()
                    raise
                target = storage.commit_staged(self.data_dir, staged)
                probe = storage.probe_audio(target)
                call.audio_content_type, size = probe.content_type, staged.size
                call.audio_filename = call.audio_filename or mask_text(source_path.name)
        except Exception as exc:  # noqa: BLE001 - the score matters more than the copy
            logger.warning("%s: audio not copied into the store: %s", mask_text(str(source_path)), exc)
            return
        call.audio_path = str(target)
        call.audio_bytes = size

    # -- run record and heartbeat ---------------------------------------------------------------
    def recover_dead_runs(self) -> int:
        """End the run records of batch runs that died (killed: their row said ``running`` forever) and free the
        files they held, so this run re-claims them now instead of when their lease runs out. Returns how many.

        A run is dead when its process is gone (same host) or its heartbeat is older than the lease (with margin).
        When no live run remains, every ``processing`` row without a service job is an abandoned claim.
        """
        now = utcnow()
        stale = now - timedelta(seconds=max(self.lease_s * 2, 10.0))
        dead = live = 0
        with self.sessions() as s:
            for job in s.scalars(select(Job).where(Job.kind == JOB_KIND, Job.status == "running")).all():
                beat = as_utc(job.heartbeat_at or job.started_at)
                if beat is None or beat < stale or pid_is_gone(job.worker):
                    job.status, job.finished_at = "failed", now
                    job.error = "interrupted: the run's process stopped (killed?); its files are claimed again"
                    dead += 1
                    logger.warning("batch run %s (%s) was interrupted; its files are claimed again", job.id,
                                   job.worker)
                else:
                    live += 1
            if dead and not live:
                service_jobs = select(Job.call_pk).where(Job.call_pk.is_not(None),
                                                         Job.status.in_(("queued", "running")))
                s.execute(update(Call).where(Call.status == "processing", Call.id.not_in(service_jobs))
                          .values(updated_at=datetime(2000, 1, 1, tzinfo=UTC))
                          .execution_options(synchronize_session=False))
            s.commit()
        return dead

    def start_run(self, payload: dict[str, Any]) -> int:
        """A ``jobs`` row (kind ``batch``) for this run, with a heartbeat while it lives."""
        self.recover_dead_runs()
        with self.sessions() as s:
            job = Job(kind=JOB_KIND, status="running", payload=payload, worker=f"{socket.gethostname()}:{os.getpid()}",
                      started_at=utcnow(), heartbeat_at=utcnow(), attempts=1)
            s.add(job)
            s.commit()
            self.run_id = job.id
        self._beat = threading.Thread(target=self._heartbeat, name="batch-heartbeat", daemon=True)
        self._beat.start()
        return job.id

    def finish_run(self, result: dict[str, Any], failed: bool) -> None:
        """Stop the heartbeat and end the run record (:func:`qa_engine.app.jobs.finish`: its texts stored masked)."""
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=10)
        if self.run_id is None:
            return
        with self.sessions() as s:
            job = s.get(Job, self.run_id)
            if job is None:
                return
            finish(job, "failed" if failed else "done", result=result,
                   error=f"{result.get('failed', 0)} file(s) failed" if failed else None)
            s.commit()

    def beat(self) -> None:
        """Refresh the lease of every claim held and the run's heartbeat."""
        now = utcnow()
        with self._lock:
            pks = list(self._in_flight)
        with self.sessions() as s:
            if pks:
                s.execute(update(Call).where(Call.id.in_(pks), Call.status == "processing").values(updated_at=now)
                          .execution_options(synchronize_session=False))
            if self.run_id is not None:
                s.execute(update(Job).where(Job.id == self.run_id).values(heartbeat_at=now))
            s.commit()

    def _heartbeat(self) -> None:
        interval = max(self.lease_s / 4, 0.2)
        while not self._stop.wait(interval):
            try:
                self.beat()
            except Exception:  # noqa: BLE001 - a missed beat is retried; the lease allows several
                logger.exception("batch heartbeat failed")
