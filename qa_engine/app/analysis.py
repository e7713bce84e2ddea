"""Scorecards and the weekly analysis, computed in Python from fetched rows.

Periods are bucketed here rather than in SQL so the results are the same on SQLite and PostgreSQL.
A call's moment is its ``started_at`` when known, else ``created_at``; naive times are taken as UTC. Days, weeks
and months are the call centre's, in the service's time zone (:mod:`qa_engine.app.local_time`).
Statistics use the current (reviewed) statuses and scores; rule pass rates count only rules that
weigh in the score and leave out ``not_applicable`` findings. Grades and categories are counted by canonical
id (``fail`` for 不合格 and fail alike, see :mod:`qa_engine.rules.labels`), so mixed languages add up.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from qa_engine.app.access import as_utc, supervised_teams
from qa_engine.app.analysis_schemas import (
    Bucket,
    GroupScore,
    Hotspots,
    Period,
    Problem,
    RuleRate,
    Share,
    Stats,
    WeeklyAnalysis,
    WeekSummary,
)
from qa_engine.app.errors import Invalid, NotFound
from qa_engine.app.local_time import day_end, day_start, local_day, service_zone
from qa_engine.app.models import Call, FindingRow, User

WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
COMPLAINT = "complaint"  # canonical category id (投诉 and complaint alike)
APOLOGY_RULE = "apology_on_complaint"
UNCLASSIFIED = "unclassified"
TOP = 5
CHUNK = 500  # ids per IN list (well under SQLite's bound-parameter limit)
#: Mondays of the first and last ISO weeks whose analysis (the week and the week before) fits in years 1 to 9999.
FIRST_WEEK = date.min + timedelta(days=7)
LAST_WEEK = date.max - timedelta(days=date.max.weekday() + 7)


@dataclass
class CallFacts:
    """What the statistics need from one call and its findings."""

    id: str
    agent: str
    team: str | None
    moment: datetime
    day: date  # the moment's day in the call centre's zone
    score: float | None
    grade: str | None  # canonical id (fail), not the pack's label (不合格)
    category: str | None  # canonical id (inquiry)
    duration: float | None
    pack: str | None
    language: str | None
    findings: list[tuple[str, str, str]] = field(default_factory=list)  # (rule_id, status, severity), scored only


def call_moment(started_at: datetime | None, created_at: datetime | None) -> datetime:
    """When the call happened, in UTC: ``started_at`` if known, else when it was filed."""
    moment = as_utc(started_at) or as_utc(created_at)
    return moment if moment is not None else datetime.min.replace(tzinfo=UTC)


def in_dates(day: date, date_from: date | None, date_to: date | None) -> bool:
    """Whether ``day`` is one of the two dates or between them (both inclusive, either may be open)."""
    return (date_from is None or day >= date_from) and (date_to is None or day <= date_to)


def unprocessable(parameter: str, message: str) -> Invalid:
    return Invalid(f"query parameter {parameter!r}: {message}")


def not_found(what: str) -> NotFound:
    return NotFound(f"{what} not found")


def require_team(session: Session, user: User, team: str) -> None:
    """404 unless ``user`` may see ``team`` (an admin any team, a supervisor the teams they supervise)."""
    if user.role == "admin":
        return
    if user.role != "supervisor" or team not in supervised_teams(session, user):
        raise not_found(f"team {team!r}")


def check_dates(date_from: date | None, date_to: date | None) -> None:
    if date_from is not None and date_to is not None and date_from > date_to:
        raise unprocessable("from", f"{date_from} is after 'to' ({date_to})")


def parse_week(week: str | None, today: date) -> date:
    """The Monday of ISO week ``week`` (``2026-W47``); of ``today``'s week when None; 422 when invalid."""
    if week is None:
        return today - timedelta(days=today.weekday())
    match = WEEK.match(week)
    if match is None:
        raise unprocessable("week", f"expected an ISO week such as 2026-W47, got {week!r}")
    try:
        monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise unprocessable("week", f"{week!r} is not a week of that year") from None
    except OverflowError:  # 9999-W52 ends in the year 10000
        monday = date.max
    if not FIRST_WEEK <= monday <= LAST_WEEK:  # the analysis needs the week and the week before it
        raise unprocessable("week", f"{week!r} is out of range: weeks from {week_name(FIRST_WEEK)} to "
                                    f"{week_name(LAST_WEEK)} are supported")
    return monday


def week_name(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


def bucket(day: date, period: Period) -> tuple[str, date]:
    """The period's name and first day for ``day``."""
    if period == "day":
        return day.isoformat(), day
    if period == "week":
        return week_name(day), day - timedelta(days=day.weekday())
    return f"{day.year}-{day.month:02d}", day.replace(day=1)


def fetch(session: Session, where: Sequence[Any], date_from: date | None, date_to: date | None) -> list[CallFacts]:
    """Scored calls matching ``where`` between the dates (inclusive, the call centre's days), with their scored
    findings."""
    zone = service_zone(session)
    conditions = [Call.status == "done", *where]
    lo = day_start(date_from, zone) if date_from else None
    hi = day_end(date_to, zone) if date_to else None
    if lo is not None or hi is not None:  # narrows the fetch; the exact test is in_dates below
        conditions.append(or_(and_(Call.started_at.is_not(None), *_range(Call.started_at, lo, hi)),
                              and_(Call.started_at.is_(None), *_range(Call.created_at, lo, hi))))
    query = select(Call.id, Call.agent, Call.team, Call.started_at, Call.created_at, Call.score, Call.grade_id,
                   Call.category_id, Call.duration, Call.pack, Call.language).where(*conditions)
    calls: dict[str, CallFacts] = {}
    for row in session.execute(query):
        moment = call_moment(row.started_at, row.created_at)
        day = local_day(moment, zone)
        if in_dates(day, date_from, date_to):
            calls[row.id] = CallFacts(row.id, row.agent, row.team, moment, day, row.score, row.grade_id,
                                      row.category_id, row.duration, row.pack, row.language)
    ids = list(calls)
    for chunk in range(0, len(ids), CHUNK):  # by id: the calls' index, not a scan of every finding
        findings = select(FindingRow.call_pk, FindingRow.rule_id, FindingRow.status, FindingRow.severity).where(
            FindingRow.call_pk.in_(ids[chunk:chunk + CHUNK]), FindingRow.weight > 0)
        for call_pk, rule_id, finding_status, severity in session.execute(findings):
            calls[call_pk].findings.append((rule_id, finding_status, severity))
    return sorted(calls.values(), key=lambda c: (c.moment, c.id))


def _range(column: Any, lo: datetime | None, hi: datetime | None) -> list[Any]:
    parts = []
    if lo is not None:
        parts.append(column >= lo)
    if hi is not None:
        parts.append(column < hi)
    return parts


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(sum(present) / len(present), 2) if present else None


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def rule_rates(calls: Sequence[CallFacts]) -> list[RuleRate]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for call in calls:
        for rule_id, finding_status, _severity in call.findings:
            counts[rule_id][finding_status] += 1
    rates = []
    for rule_id in sorted(counts):
        passed, failed = counts[rule_id]["pass"], counts[rule_id]["fail"]
        rates.append(RuleRate(rule_id=rule_id, passed=passed, failed=failed,
                              pass_rate=round(passed / (passed + failed), 4) if passed + failed else None))
    return rates


def stats(calls: Sequence[CallFacts]) -> Stats:
    grades = Counter(c.grade for c in calls if c.grade is not None)
    return Stats(calls=len(calls), average_score=_mean(c.score for c in calls), grades=dict(sorted(grades.items())),
                 rules=rule_rates(calls))


def trend(calls: Sequence[CallFacts], period: Period) -> list[Bucket]:
    """The statistics per period bucket, oldest first."""
    groups: dict[tuple[date, str], list[CallFacts]] = defaultdict(list)
    for call in calls:
        name, start = bucket(call.day, period)
        groups[(start, name)].append(call)
    return [Bucket(period=name, start=start, **stats(group).model_dump()) for (start, name), group in
            sorted(groups.items())]


def _failures(calls: Sequence[CallFacts]) -> tuple[Counter[str], Counter[str], dict[str, str]]:
    """Per rule: failed findings, applicable findings, and the rule's severity."""
    failed: Counter[str] = Counter()
    applicable: Counter[str] = Counter()
    severity: dict[str, str] = {}
    for call in calls:
        for rule_id, finding_status, rule_severity in call.findings:
            severity[rule_id] = rule_severity
            if finding_status != "not_applicable":
                applicable[rule_id] += 1
            if finding_status == "fail":
                failed[rule_id] += 1
    return failed, applicable, severity


def problems(calls: Sequence[CallFacts], previous: Sequence[CallFacts],
             summaries: dict[str, str]) -> list[Problem]:
    """Failed rules ranked by failures (then rule id), with their share of the week's calls."""
    failed, applicable, severity = _failures(calls)
    before, _, _ = _failures(previous)
    ranked = sorted(failed.items(), key=lambda item: (-item[1], item[0]))
    return [Problem(rule_id=rule_id, summary=summaries.get(rule_id), severity=severity[rule_id], failures=n,
                    share_of_calls=_rate(n, len(calls)), fail_rate=_rate(n, applicable[rule_id]),
                    previous_failures=before[rule_id]) for rule_id, n in ranked]


def categories(calls: Sequence[CallFacts]) -> list[Share]:
    counts = Counter(c.category or UNCLASSIFIED for c in calls)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [Share(label=label, calls=n, share=_rate(n, len(calls))) for label, n in ranked]


def lowest(calls: Sequence[CallFacts], key: str) -> list[GroupScore]:
    """Agents or teams with the lowest average score (the worst ``TOP``)."""
    groups: dict[str, list[CallFacts]] = defaultdict(list)
    for call in calls:
        name = getattr(call, key)
        if name is not None:
            groups[name].append(call)
    scores = [GroupScore(name=name, calls=len(group), average_score=_mean(c.score for c in group),
                         failures=sum(1 for c in group for _r, s, _v in c.findings if s == "fail"))
              for name, group in groups.items()]
    scores.sort(key=lambda g: (g.average_score if g.average_score is not None else 101.0, g.name))
    return scores[:TOP]


def hotspots(calls: Sequence[CallFacts], ranked: list[Problem]) -> Hotspots:
    complaints = sum(1 for c in calls if c.category == COMPLAINT)
    apology = [s for c in calls for r, s, _v in c.findings if r == APOLOGY_RULE and s != "not_applicable"]
    rates = [r for r in rule_rates(calls) if r.pass_rate is not None]
    rates.sort(key=lambda r: (r.pass_rate, r.rule_id))
    return Hotspots(complaint_calls=complaints, complaint_share=_rate(complaints, len(calls)),
                    apology_missed=apology.count("fail"), apology_applicable=len(apology),
                    critical_failures=[p for p in ranked if p.severity == "critical"],
                    lowest_agents=lowest(calls, "agent"), lowest_teams=lowest(calls, "team"),
                    lowest_rules=rates[:TOP])


def _handle_time(calls: Sequence[CallFacts]) -> float | None:
    return _mean(c.duration for c in calls)


def weekly(calls: Sequence[CallFacts], previous: Sequence[CallFacts], monday: date, team: str | None,
           summaries: dict[str, str]) -> WeeklyAnalysis:
    """The week's analysis: frequent problems, categories, handle time, hotspots, and the week before."""
    ranked = problems(calls, previous, summaries)
    grades = Counter(c.grade for c in calls if c.grade is not None)
    prior = monday - timedelta(days=7)
    return WeeklyAnalysis(
        week=week_name(monday), start=monday, end=monday + timedelta(days=6), team=team, calls=len(calls),
        average_score=_mean(c.score for c in calls), average_handle_time_s=_handle_time(calls),
        total_handle_time_s=round(sum(c.duration or 0.0 for c in calls), 2), grades=dict(sorted(grades.items())),
        problems=ranked, categories=categories(calls), hotspots=hotspots(calls, ranked),
        previous=WeekSummary(week=week_name(prior), calls=len(previous),
                             average_score=_mean(c.score for c in previous),
                             average_handle_time_s=_handle_time(previous)))
