"""The call list as CSV: the filters, sort and role scope of ``GET /calls``, streamed in chunks of rows.

An export is bounded: at most :data:`MAX_EXPORT_ROWS` rows per request. Without an explicit ``limit`` a result
larger than that is refused (422 naming the count and the way out) rather than cut short silently; with one, the
caller pages with ``offset`` (the HTTP edge adds a ``Link: rel="next"`` header). The matching ids are read first,
so rows added while the file streams neither repeat nor shift it.

Only masked fields leave: every text cell is PII-masked and neutralised against formula injection
(:func:`qa_engine.app.analysis_csv.safe_cell`); transcripts are not exported. Each export is audited.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from qa_engine.app.access import as_utc, visible_to
from qa_engine.app.analysis_csv import safe_cell
from qa_engine.app.audit import record
from qa_engine.app.call_query import CallFilters, order_by
from qa_engine.app.errors import Invalid
from qa_engine.app.local_time import service_zone
from qa_engine.app.models import Call, FindingRow, User
from qa_engine.pii import mask_optional, mask_text

MAX_EXPORT_ROWS = 10_000
CHUNK_ROWS = 500
COLUMNS = ["id", "call_id", "agent", "team", "started_at", "created_at", "status", "source", "language", "pack",
           "pack_version", "duration_s", "score", "auto_score", "grade", "category", "failed_rules"]


@dataclass(frozen=True)
class ExportPlan:
    """The ids to export (one page, in order), how many calls match in all, and where the next page starts
    (None: this is the last one)."""

    ids: list[str]
    total: int
    offset: int
    next_offset: int | None


def plan_export(session: Session, user: User, filters: CallFilters, sort: str, *, limit: int | None,
                offset: int) -> ExportPlan:
    """Which calls an export holds (the user's scope, the filters, the sort); audited as ``calls.export``.

    Raises:
        Invalid: a bad filter or sort, or (without ``limit``) more than :data:`MAX_EXPORT_ROWS` calls.
    """
    where: list[ColumnElement[bool]] = [visible_to(user), *filters.conditions(service_zone(session))]
    ordering = order_by(sort)
    total = session.scalar(select(func.count()).select_from(Call).where(*where)) or 0
    if limit is None and total - offset > MAX_EXPORT_ROWS:
        raise Invalid(f"the export matches {total - offset} calls, more than {MAX_EXPORT_ROWS}: narrow the filters "
                      f"(agent, team, from/to ...) or page with 'limit' (at most {MAX_EXPORT_ROWS}) and 'offset'")
    page = limit or MAX_EXPORT_ROWS
    ids = list(session.scalars(select(Call.id).where(*where).order_by(*ordering).offset(offset).limit(page)))
    shown = {k: v for k, v in vars(filters).items() if v is not None}
    record(session, user.name, "calls.export",
           detail=f"{len(ids)} of {total} calls from offset {offset}; filters {shown}; sort {sort}")
    session.commit()
    return ExportPlan(ids=ids, total=total, offset=offset,
                      next_offset=offset + page if offset + page < total else None)


def _iso(value: Any) -> str | None:
    moment = as_utc(value)
    return moment.isoformat() if moment is not None else None


def _row(call: Call, failed: list[str]) -> list[Any]:
    """One call's cells: names and labels people typed PII-masked (the service's own ids, times and numbers are
    not: a hex id is no phone number), and no text cell a spreadsheet would run as a formula."""
    typed = [mask_text(v) if v else v for v in (call.call_id, call.agent, call.team)]
    cells = [call.id, *typed, _iso(call.started_at), _iso(call.created_at), call.status, call.source, call.language,
             call.pack, call.pack_version, call.duration, call.score, call.auto_score, mask_optional(call.grade),
             mask_optional(call.category), ";".join(sorted(failed))]
    return [safe_cell(c) for c in cells]


def _text(rows: list[list[Any]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def csv_chunks(session_factory: Callable[[], Session], plan: ExportPlan) -> Iterator[str]:
    """The CSV text in pieces: the header, then :data:`CHUNK_ROWS` calls at a time (its own session: it runs
    while the response streams, after the request's session may be closed)."""
    yield "\ufeff" + _text([COLUMNS])  # a byte-order mark: spreadsheets then read the UTF-8 (Chinese names) right
    with session_factory() as session:
        for start in range(0, len(plan.ids), CHUNK_ROWS):
            chunk = plan.ids[start:start + CHUNK_ROWS]
            calls = {c.id: c for c in session.scalars(select(Call).where(Call.id.in_(chunk)))}
            failed: dict[str, list[str]] = {}
            for call_pk, rule_id in session.execute(select(FindingRow.call_pk, FindingRow.rule_id).where(
                    FindingRow.call_pk.in_(chunk), FindingRow.status == "fail")):
                failed.setdefault(call_pk, []).append(rule_id)
            rows = [_row(calls[i], failed.get(i, [])) for i in chunk if i in calls]  # one deleted meanwhile: gone
            session.expunge_all()
            yield _text(rows)


__all__ = ["COLUMNS", "MAX_EXPORT_ROWS", "ExportPlan", "csv_chunks", "plan_export"]
