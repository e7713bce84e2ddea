"""Writing a scored report into a call: the report document, the filterable columns and the findings rows.

Every path that scores a call (transcript upload, audio job, re-scoring, batch) goes through
:func:`store_report`, so lists, scorecards and reviews all read the same columns.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from qa_engine.app.models import Call, FindingRow, utcnow
from qa_engine.report import report_to_dict
from qa_engine.transcript import transcript_to_dict
from qa_engine.types import CallReport, Transcript


def store_report(session: Session, call: Call, report: CallReport, *,
                 raw_transcript: Transcript | None = None) -> None:
    """Put ``report`` on ``call`` (status ``done``) and replace its findings rows; the caller commits.

    ``raw_transcript`` (unmasked) is kept only when given, i.e. when the service is configured to keep raw text.
    Reviews made under an earlier report are not carried over: a new report is a new automatic judgement.
    """
    doc: dict[str, Any] = report_to_dict(report)
    call.report = doc
    call.status = "done"
    call.error = None
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
    session.execute(delete(FindingRow).where(FindingRow.call_pk == call.id))
    session.add_all(FindingRow(call_pk=call.id, rule_id=f.rule_id, severity=f.severity, weight=f.weight,
                               auto_status=f.status, status=f.status, reviewed=False)
                    for f in report.findings)
