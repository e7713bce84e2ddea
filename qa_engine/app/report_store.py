"""Writing a scored report into a call: the report document, the filterable columns and the findings rows.

Every path that scores a call (transcript upload, audio job, re-scoring, batch) goes through
:func:`store_report`, so lists, scorecards and reviews all read the same columns.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from qa_engine.app.models import Call, FindingRow, utcnow
from qa_engine.app.review_queue import note_scored
from qa_engine.app.search_index import index_call
from qa_engine.app.sentiment_stats import customer_end_from_report
from qa_engine.report import report_to_dict
from qa_engine.rules import Pack
from qa_engine.transcript import transcript_to_dict
from qa_engine.types import CallReport, Transcript

logger = logging.getLogger(__name__)


def store_report(session: Session, call: Call, report: CallReport, *,
                 raw_transcript: Transcript | None = None, pack: Pack | None = None) -> None:
    """Put ``report`` on ``call`` (status ``done``) and replace its findings rows; the caller commits.

    ``raw_transcript`` (unmasked) is kept only when given, i.e. when the service is configured to keep raw text.
    Human review survives a new report (a rescore, a retried job): a reviewed finding whose rule is still in the
    report keeps its final status (override, decided dispute) and the score is recomputed with it under ``pack``
    (the report's pack; without it the score stays the engine's). Review rows are never touched here.
    An ``unscorable`` report (no agent speech) leaves the call ``failed`` with the reason, no score and no findings.
    """
    doc: dict[str, Any] = report_to_dict(report)
    if pack is not None and pack.spec is not None and pack.spec.label_ids:  # read by Call's grade/category ids
        doc["label_ids"] = dict(pack.spec.label_ids)
    previous = call.report.get("redactions") if isinstance(call.report, dict) else None
    if previous and not report.redactions:  # a rescore of the masked text finds no number: the audio's stay
        doc["redactions"] = previous
    call.report = doc
    call.language = report.transcript.language
    call.pack = report.pack_id
    call.pack_version = report.pack_version
    call.duration = report.transcript.duration
    call.score = report.score
    call.auto_score = report.score
    call.grade = report.grade
    call.category = report.category
    call.raw_transcript = transcript_to_dict(raw_transcript) if raw_transcript is not None else None
    if report.transcript.agent_channel is not None:
        call.agent_channel = report.transcript.agent_channel
    now = utcnow()
    call.finished_at = now
    call.updated_at = now
    if report.scorable:
        call.status, call.error = "done", None
    else:
        call.status, call.error = "failed", f"not scorable: {report.reason}"
    reviewed = dict(session.execute(select(FindingRow.rule_id, FindingRow.status).where(
        FindingRow.call_pk == call.id, FindingRow.reviewed.is_(True))).all())
    session.execute(delete(FindingRow).where(FindingRow.call_pk == call.id))
    kept = 0
    for f in report.findings:
        final = reviewed.get(f.rule_id)
        kept += final is not None
        session.add(FindingRow(call_pk=call.id, rule_id=f.rule_id, severity=f.severity, weight=f.weight,
                               auto_status=f.status, status=final or f.status, reviewed=final is not None))
    if kept and pack is not None:
        from qa_engine.app.reviews import recompute

        session.flush()
        recompute(session, call, pack)
    elif kept:
        logger.warning("call %s: %d reviewed finding(s) kept; score not recomputed (no pack given)", call.id, kept)
    after_report(session, call)


def after_report(session: Session, call: Call) -> None:
    """What every stored report feeds, also for a report copied from an identical recording (:mod:`.dedupe`)."""
    call.customer_end_sentiment = customer_end_from_report(call.report)  # the dashboard's sentiment card
    index_call(session, call)  # cross-call search reads the masked text just stored
    note_scored(session, call)  # the review queue: critical failures, low scores, sampling plans
