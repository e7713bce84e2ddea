"""A batch run: read the source, plan (hash, pack, already done?), claim, score with an executor, write, report.

The database side (claims, writes, progress, report) stays in this process whatever the executor, so
a Ray cluster needs no access to the database, and SQLite works for a one-box run.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TextIO

from qa_engine.app.batch.claims import BatchClaims, call_pk, file_sha256
from qa_engine.app.batch.report import FileRecord, summarise, write_report
from qa_engine.app.batch.source import BatchItem, load_source, newer_than
from qa_engine.app.batch.tasks import ScoreResult, ScoreTask
from qa_engine.app.pack_cache import PackCache
from qa_engine.app.score_call import choose_pack
from qa_engine.asr import Recognizer
from qa_engine.audio import header_duration
from qa_engine.errors import QaEngineError
from qa_engine.pii import mask_text
from qa_engine.pipeline import PipelineOptions
from qa_engine.rules import Pack, load_pack

logger = logging.getLogger(__name__)


class Executor(Protocol):
    """Runs score tasks somewhere (local processes, a Ray cluster) and yields their results in any order."""

    def run(self, tasks: Iterator[ScoreTask]) -> Iterator[ScoreResult]: ...


@dataclass(frozen=True)
class BatchOptions:
    """What ``qa-engine batch`` was asked to do."""

    source: Path
    pack: str | None = None
    language: str | None = None
    workers: int = 2
    since: datetime | None = None
    dry_run: bool = False
    engine: str = "local"
    address: str | None = None
    default_agent: str = "unassigned"
    report_dir: Path | None = None
    lease_s: float = 60.0
    store_audio: bool = True
    pipeline: PipelineOptions = field(default_factory=PipelineOptions)


@dataclass
class PlannedFile:
    """One source file after planning: its row id, pack and whether there is anything to do."""

    item: BatchItem
    pk: str
    pack: Pack
    content_hash: str | None
    duration: float | None
    record: FileRecord
    todo: bool = True
    error: str | None = None
    language: str | None = None

    def fields(self) -> dict[str, Any]:
        """Columns of its ``calls`` row (besides status and times)."""
        r = self.record
        return {"call_id": r.call_id, "agent": r.agent, "team": r.team, "started_at": self.item.started_at,
                "language": self.language or self.pack.language, "pack": self.pack.id,
                "pack_version": self.pack.version, "content_hash": self.content_hash,
                "agent_channel": self.item.agent_channel, "audio_filename": mask_text(self.item.path.name[:256])}


class PackResolver:
    """The pack for an item: ``--pack`` as a YAML path (the operator's own file), else the service's one resolver
    (:func:`~qa_engine.app.score_call.choose_pack`: ``--pack`` id, the team's pack, the language default), cached."""

    def __init__(self, sessions: Any, pack: str | None) -> None:
        self.sessions = sessions
        self.pack = pack
        self._cache: dict[tuple[str | None, str | None], Pack] = {}
        self._pack_cache = PackCache()

    def __call__(self, team: str | None, language: str | None) -> Pack:
        key = (team, language) if self.pack is None else (None, None)
        if key not in self._cache:
            self._cache[key] = self._resolve(team, language)
        return self._cache[key]

    def _resolve(self, team: str | None, language: str | None) -> Pack:
        if self.pack is not None and (self.pack.endswith((".yaml", ".yml")) or Path(self.pack).is_file()):
            return load_pack(Path(self.pack))
        with self.sessions() as s:
            return choose_pack(s, self._pack_cache, pack_id=self.pack, team=team, language=language)


def plan(options: BatchOptions, store: BatchClaims, resolver: PackResolver) -> list[PlannedFile]:
    """Every file of the source with its row id; files already scored with this pack version are not to do."""
    items = load_source(options.source)
    if options.since is not None:
        items = newer_than(items, options.since)
    planned: list[PlannedFile] = []
    teams: dict[str, str | None] = {}
    for item in items:
        agent = item.agent or options.default_agent
        if agent not in teams:
            teams[agent] = store.team_of(agent)
        team = teams[agent] or item.team  # an agent's user record decides the team (a sidecar cannot move the call)
        if item.team is not None and team != item.team:
            logger.warning("%s: agent %r is in team %r, not %r as the metadata says: filed under %r",
                           item.origin or item.path, agent, team, item.team, team)
        language = item.language or options.language
        if language == "auto" and options.pack is None:
            raise QaEngineError(f"{item.origin or item.path}: language auto needs --pack (the pack's version is "
                                "part of what makes a file 'already scored')")
        pack = resolver(team, language)
        record = FileRecord(path=str(item.path), call_id=mask_text(item.call_id), agent=agent, team=team)
        content_hash: str | None = None
        error: str | None = None
        try:
            content_hash = file_sha256(item.path)
        except OSError as exc:
            error = f"{item.path}: cannot read file: {exc.strerror or exc}"
        key = content_hash or f"path:{item.path.resolve()}"
        pk = call_pk(key, pack.id, pack.version)
        p = PlannedFile(item, pk, pack, content_hash, header_duration(item.path) if content_hash else None, record,
                        error=error, language=language)
        record.pk, record.duration = pk, p.duration
        done = store.existing(pk, content_hash, pack.id, pack.version)
        if done is not None:
            p.todo = False
            record.mark_existing(done)
        planned.append(p)
    return planned


def _make_executor(options: BatchOptions, recognizer: Recognizer | None) -> Executor:
    if options.engine == "ray":
        from qa_engine.app.batch.ray_executor import RayExecutor

        return RayExecutor(options.pipeline, address=options.address, cpu_workers=options.workers)
    from qa_engine.app.batch.local import LocalExecutor

    return LocalExecutor(options.pipeline, options.workers, recognizer=recognizer)


def run_batch(options: BatchOptions, sessions: Any, *, data_dir: Path | None = None,
              recognizer: Recognizer | None = None, stream: TextIO = sys.stderr) -> dict[str, Any]:
    """Score the source into the database; returns the summary (also written to the report folder)."""
    store = BatchClaims(sessions, lease_s=options.lease_s, data_dir=data_dir, store_audio=options.store_audio)
    planned = plan(options, store, PackResolver(sessions, options.pack))
    todo = [p for p in planned if p.todo]
    if options.dry_run:
        return summarise(planned, wall_s=0.0, dry_run=True)
    by_pk: dict[str, PlannedFile] = {}
    for p in todo:
        by_pk.setdefault(p.pk, p)
    progress_total = sum(p.duration or 0.0 for p in by_pk.values())
    from qa_engine.app.batch.progress import Progress

    progress = Progress(stream, len(by_pk), progress_total)
    store.start_run({"source": str(options.source), "engine": options.engine, "pack": options.pack,
                     "files": len(planned), "to_score": len(by_pk)})
    t0 = time.monotonic()
    failed_any = False
    try:
        executor = _make_executor(options, recognizer)
        for result in executor.run(_claims(list(by_pk.values()), store, progress)):
            p = by_pk[result.pk]
            if result.report is not None:
                if store.write_report(result.pk, result.report, p.item.path):
                    p.record.mark_scored(result.report, result.seconds)
                else:
                    p.record.status = "skipped"
                progress.advance(result.report.transcript.duration)
            else:
                failed_any = True
                reason = result.error or "unknown error"
                store.write_failure(result.pk, reason)
                p.record.mark_failed(reason)
                progress.advance(p.duration or 0.0, failed=True)
    except BaseException:
        store.release_all()
        store.finish_run({"interrupted": True}, failed=True)
        raise
    finally:
        progress.close()
    for p in planned:  # duplicates of a file scored in this run
        if p.todo and by_pk[p.pk] is not p:
            p.record.copy_from(by_pk[p.pk].record)
    summary = summarise(planned, wall_s=time.monotonic() - t0, dry_run=False)
    if options.report_dir is not None:
        summary["report_dir"] = str(write_report(options.report_dir, planned, summary))
    store.finish_run(summary, failed=failed_any or summary["failed"] > 0)
    return summary


def _claims(todo: list[PlannedFile], store: BatchClaims, progress: Any) -> Iterator[ScoreTask]:
    """Tasks for the files this run claims; files another live run holds are waited for at the end."""
    busy: list[PlannedFile] = []
    for p in todo:
        task = _claim(p, store, progress)
        if isinstance(task, ScoreTask):
            yield task
        elif task == "busy":
            busy.append(p)
    while busy:
        logger.info("%d file(s) are being scored by another run; waiting for them or for their lease to end",
                    len(busy))
        time.sleep(min(max(store.lease_s / 4, 0.2), 5.0))
        still = []
        for p in busy:
            task = _claim(p, store, progress)
            if isinstance(task, ScoreTask):
                yield task
            elif task == "busy":
                still.append(p)
        busy = still


def _claim(p: PlannedFile, store: BatchClaims, progress: Any) -> ScoreTask | str | None:
    if p.error is not None:  # unreadable: record it, nothing to run
        store.record_failure(p.pk, p.fields(), p.error)
        p.record.mark_failed(p.error)
        progress.advance(0.0, failed=True)
        return None
    outcome = store.claim(p.pk, p.fields())
    if outcome == "busy":
        return "busy"
    if outcome == "done":
        p.record.status = "skipped"
        done = store.existing(p.pk, p.content_hash, p.pack.id, p.pack.version)
        if done is not None:
            p.record.mark_existing(done)
        progress.advance(p.duration or 0.0)
        return None
    return ScoreTask(p.pk, str(p.item.path), p.record.call_id, p.pack, language=p.language,
                     agent_channel=p.item.agent_channel)
