"""Keeping the search index in step with stored reports: a call's utterances, copied out of its masked report.

Only the report's text is indexed, the text every reader is served (PII-masked); the raw transcript never is.
:func:`index_call` is called by :func:`qa_engine.app.report_store.store_report`, so every scoring path (upload,
audio job, rescore, batch) re-indexes the call; the rows go with the call (``ON DELETE CASCADE``). Calls scored
before the index existed are indexed by migration 0005; ``match_text`` (the words marked) was filled in by 0011.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from qa_engine.app.models import Call, SearchUtterance
from qa_engine.app.search_text import match_form

INDEXED_ROLES = ("agent", "customer", "unknown")


def index_call(session: Session, call: Call) -> None:
    """Replace ``call``'s rows with the utterances of its current report (none when it has no report)."""
    if call.id is None:  # a call not yet flushed gets its id (the rows' key) on flush
        session.flush()
    session.execute(delete(SearchUtterance).where(SearchUtterance.call_pk == call.id))
    rows = utterance_rows(call.id, call.report)
    if rows:  # one multi-row INSERT: a 20 000-utterance call as ORM objects took seconds (row by row, ids fetched)
        session.execute(insert(SearchUtterance), rows)


def utterance_rows(call_pk: str, report: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row (column values) per utterance with text; malformed entries are skipped (a report is data, not a
    promise)."""
    items = report.get("utterances") if isinstance(report, dict) else None
    rows: list[dict[str, Any]] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        text, start, end = item.get("text"), item.get("start"), item.get("end")
        if not isinstance(text, str) or not text.strip():
            continue
        if not isinstance(start, int | float) or not isinstance(end, int | float):
            continue
        role = item.get("role")
        rows.append({"call_pk": call_pk, "role": role if role in INDEXED_ROLES else "unknown", "start": float(start),
                     "end": float(end), "text": text, "match_text": match_form(text)})
    return rows
