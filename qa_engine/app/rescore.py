"""The ``rescore`` background job: score stored transcripts again with another pack version, without ASR.

The job's payload (written by ``POST /packs/{id}/rescore``)::

    {"pack_id": "zh-CN", "version": "1.1.0", "teams": ["t1"] | null, "from": ISO | null, "to": ISO | null}

Calls are selected by team and by when they happened (``started_at``, else when they were stored), among
finished calls whose language fits the pack. Each call is committed on its own, so a long job that stops
half-way keeps what it did, and its webhook events are queued with its report. Human review survives: a reviewed
finding whose rule is still in the pack keeps its final status, and the score is recomputed with it.
A call deleted while the job runs (before or as it is rescored) is skipped and counted in ``skipped_deleted``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qa_engine.app.access import as_utc
from qa_engine.app.jobs import call_was_deleted
from qa_engine.app.models import Call, Job
from qa_engine.app.pack_cache import PackCache
from qa_engine.app.packs import get_pack
from qa_engine.app.score_call import score_call
from qa_engine.errors import QaEngineError
from qa_engine.rules import language_fits
from qa_engine.transcript import transcript_from_dict
from qa_engine.types import Transcript

logger = logging.getLogger(__name__)

JOB_KIND = "rescore"
MAX_REPORTED_ERRORS = 20


def rescore_payload(pack_id: str, version: str, teams: list[str] | None, start: datetime | None,
                    end: datetime | None) -> dict[str, Any]:
    """The payload of a rescore job (JSON-safe)."""
    return {"pack_id": pack_id, "version": version, "teams": teams,
            "from": start.isoformat() if start else None, "to": end.isoformat() if end else None}


def _moment(payload: dict[str, Any], key: str) -> datetime | None:
    value = payload.get(key)
    return as_utc(datetime.fromisoformat(value)) if isinstance(value, str) and value else None


def select_calls(session: Session, payload: dict[str, Any]) -> list[str]:
    """Ids of the finished calls the payload selects, oldest first."""
    when = func.coalesce(Call.started_at, Call.created_at)
    query = select(Call.id).where(Call.status == "done", Call.report.is_not(None))
    teams = payload.get("teams")
    if teams is not None:
        query = query.where(Call.team.in_(teams))
    start, end = _moment(payload, "from"), _moment(payload, "to")
    if start is not None:
        query = query.where(when >= start)
    if end is not None:
        query = query.where(when < end)
    return list(session.scalars(query.order_by(when, Call.id)))


def stored_transcript(call: Call) -> tuple[Transcript, bool]:
    """The call's transcript: the unmasked one when kept (True), else the one in its report (PII-masked)."""
    if call.raw_transcript:
        return transcript_from_dict(call.raw_transcript, source=f"call {call.id}"), True
    return transcript_from_dict(call.report, source=f"call {call.id}"), False


def run_rescore_job(session: Session, pack_cache: PackCache, job: Job) -> dict[str, Any]:
    """Re-score the calls selected by ``job.payload``; returns a summary stored as the job's result.

    Raises:
        QaEngineError: the payload names no pack, or a pack version that does not exist (the job fails with that).
    """
    payload = job.payload or {}
    pack_id = payload.get("pack_id")
    if not isinstance(pack_id, str):
        raise QaEngineError(f"rescore job {job.id}: the payload names no 'pack_id'")
    pack = get_pack(session, pack_cache, pack_id, payload.get("version"))
    ids = select_calls(session, payload)
    summary: dict[str, Any] = {"pack": {"id": pack.id, "version": pack.version}, "selected": len(ids),
                               "rescored": 0, "changed": 0, "skipped_language": 0, "skipped_deleted": 0, "failed": 0,
                               "errors": []}
    for call_pk in ids:
        call = session.get(Call, call_pk)
        if call is None or call.report is None:
            summary["skipped_deleted"] += 1  # deleted since it was selected
            continue
        if not language_fits(pack.language, call.language):
            summary["skipped_language"] += 1
            continue
        before = call.score
        try:
            transcript, raw = stored_transcript(call)
            score_call(session, call, pack_cache=pack_cache, transcript=transcript, pack=pack,
                       keep_raw=raw)
            session.commit()
        except QaEngineError as exc:
            summary["failed"] += 1
            if len(summary["errors"]) < MAX_REPORTED_ERRORS:
                summary["errors"].append({"call": call_pk, "error": str(exc)})
            logger.warning("rescore job %s: call %s: %s", job.id, call_pk, exc)
            continue
        except Exception:
            if not call_was_deleted(session, call_pk):
                raise
            summary["skipped_deleted"] += 1  # as it was rescored: its report's write found no row
            logger.info("rescore job %s: call %s was deleted while it was rescored; skipped", job.id, call_pk)
            continue
        summary["rescored"] += 1
        summary["changed"] += int(before != call.score)  # reviewed findings keep their status (see store_report)
    logger.info("rescore job %s with %s v%s: %d rescored, %d changed, %d failed", job.id, pack.id, pack.version,
                summary["rescored"], summary["changed"], summary["failed"],
                extra={"job_id": job.id, "pack": pack.id, "pack_version": pack.version})
    return summary
