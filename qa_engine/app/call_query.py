"""Filters and sort orders of ``GET /calls``, turned into SQL (the role scope is added by the router)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, case, func, or_, select

from qa_engine.app.call_fields import unprocessable, utc_moment
from qa_engine.app.local_time import day_end, day_start
from qa_engine.app.models import CALL_STATUSES, Call, FindingRow
from qa_engine.rules.labels import canonical_category, canonical_grade

#: When a call happened: its start time, or its upload time when the start is unknown.
WHEN = func.coalesce(Call.started_at, Call.created_at)
#: A grade's rank, from its canonical id (labels sort by code point: 不合格 < 合格 < 良好 < 优秀, fail < good);
#: NULL for a pack's own unmapped label, which has no rank.
GRADE_RANK = case({"fail": 0, "pass": 1, "good": 2, "excellent": 3}, value=Call.grade_id)
SORTS: dict[str, Any] = {"created_at": Call.created_at, "started_at": WHEN, "score": Call.score,
                         "agent": Call.agent, "team": Call.team, "grade": GRADE_RANK, "duration": Call.duration}
ALLOWED_SORTS = ", ".join(f"{name}, -{name}" for name in SORTS)


@dataclass(frozen=True)
class CallFilters:
    agent: str | None = None
    team: str | None = None
    status: str | None = None
    grade: str | None = None
    category: str | None = None
    failed_rule: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    min_score: float | None = None
    max_score: float | None = None

    def conditions(self, zone: tzinfo) -> list[ColumnElement[bool]]:
        """SQL conditions for the given filters, a date being a day in ``zone`` (the call centre's,
        :func:`qa_engine.app.local_time.service_zone`); 422 naming the parameter for a bad value."""
        where: list[ColumnElement[bool]] = []
        for column, value in ((Call.agent, self.agent), (Call.team, self.team)):
            if value is not None:
                where.append(column == value)
        # by canonical id (fail finds 不合格 and fail); a pack's own label still finds itself
        if self.grade is not None:
            where.append(or_(Call.grade_id == canonical_grade(self.grade), Call.grade == self.grade))
        if self.category is not None:
            where.append(or_(Call.category_id == canonical_category(self.category), Call.category == self.category))
        if self.status is not None:
            if self.status not in CALL_STATUSES:
                raise unprocessable(f"query parameter 'status' must be one of {', '.join(CALL_STATUSES)}, "
                                    f"got {self.status!r}")
            where.append(Call.status == self.status)
        if self.failed_rule is not None:
            failed = select(FindingRow.call_pk).where(FindingRow.rule_id == self.failed_rule,
                                                      FindingRow.status == "fail")
            where.append(Call.id.in_(failed))
        start = _moment(self.date_from, "from", zone, end_of_day=False)
        end = _moment(self.date_to, "to", zone, end_of_day=True)
        if start is not None and end is not None and start >= end:
            raise unprocessable(f"query parameters 'from' ({self.date_from}) and 'to' ({self.date_to}): "
                                "'from' must be before 'to'")
        if start is not None:
            where.append(WHEN >= start)
        if end is not None:
            where.append(WHEN < end)
        if self.min_score is not None and self.max_score is not None and self.min_score > self.max_score:
            raise unprocessable("query parameters 'min_score' and 'max_score': min_score is above max_score")
        if self.min_score is not None:
            where.append(Call.score >= self.min_score)
        if self.max_score is not None:
            where.append(Call.score <= self.max_score)
        return where


def _moment(value: str | None, name: str, zone: tzinfo, *, end_of_day: bool) -> datetime | None:
    """A date (a whole day in ``zone``) or an ISO 8601 date-time; 'to' is exclusive of what follows the given
    moment. A date-time without an offset is UTC, as everywhere in the API.

    ``to=9999-12-31`` has no following day: it is no bound at all (None). A date-time whose UTC instant falls
    outside the years 0001 to 9999 (``0001-01-01T00:00:00+05:00``) is a 422 naming the parameter.
    """
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return day_end(day, zone) if end_of_day else day_start(day, zone)
        parsed = utc_moment(datetime.fromisoformat(value), f"query parameter '{name}'")
    except ValueError:
        raise unprocessable(f"query parameter '{name}' must be a date (2025-01-31) or an ISO 8601 date-time "
                            f"(2025-01-31T09:30:00+08:00), got {value!r}") from None
    if not end_of_day:
        return parsed
    return None if parsed == datetime.max.replace(tzinfo=UTC) else parsed + timedelta(microseconds=1)


def order_by(sort: str) -> list[Any]:
    """ORDER BY for ``sort`` (``name`` ascending, ``-name`` descending; missing values last); 422 if unknown.

    ``grade`` sorts by rank; grades without one (a pack's unmapped labels) come after the ranked ones and before
    the calls without a grade, in both directions.
    """
    name = sort.removeprefix("-")
    column = SORTS.get(name)
    if column is None:
        raise unprocessable(f"query parameter 'sort': unknown sort {sort!r} (allowed: {ALLOWED_SORTS})")
    ordered = column.desc() if sort.startswith("-") else column.asc()
    tie = Call.id.desc() if sort.startswith("-") else Call.id.asc()
    ungraded_last = [Call.grade.is_(None)] if name == "grade" else []
    return [ordered.nulls_last(), *ungraded_last, tie]
