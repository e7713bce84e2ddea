"""Scorecards per agent and per team by day/week/month, and the weekly analysis, as JSON or CSV.

Scoping: an agent sees their own scorecard only (another name answers 404), a supervisor the agents
and teams they supervise, an admin everything. Statistics are computed by :mod:`api.analysis`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_engine.app import analysis
from qa_engine.app.access import require_role, supervised_teams, visible_to
from qa_engine.app.analysis_csv import scorecard_csv, weekly_csv
from qa_engine.app.analysis_schemas import Period, Scorecard, WeeklyAnalysis
from qa_engine.app.models import Call, User
from qa_engine.app.pack_cache import PackCache
from qa_engine.app.packs import get_pack
from qa_engine.errors import PackError

from ..deps import CurrentUser, PackCacheDep, SessionDep

router = APIRouter(tags=["scorecards"])
Format = Literal["json", "csv"]
CSV_RESPONSE = {"content": {"text/csv": {"schema": {"type": "string"}}},
                "description": "the same figures as JSON, or as CSV with format=csv"}
FromQuery = Annotated[date | None, Query(alias="from", description="first day (UTC), inclusive")]
ToQuery = Annotated[date | None, Query(alias="to", description="last day (UTC), inclusive")]
FormatQuery = Annotated[Format, Query(alias="format")]


def _require_agent(session: Session, user: User, name: str) -> None:
    """404 unless ``user`` may see agent ``name``'s scorecard (self, a supervised agent, or any for admins)."""
    if user.role == "agent":
        if name != user.name:
            raise analysis.not_found(f"agent {name!r}")
        return
    target = session.scalar(select(User).where(User.name == name))
    if target is not None and (user.role == "admin" or target.team in supervised_teams(session, user)):
        return
    if session.scalar(select(Call.id).where(Call.agent == name, visible_to(user)).limit(1)) is None:
        raise analysis.not_found(f"agent {name!r}")


def _csv(text: str, filename: str) -> Response:
    return Response(content=text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _scorecard(session: Session, user: User, scope: Literal["agent", "team"], name: str, period: Period,
               date_from: date | None, date_to: date | None, fmt: Format) -> Scorecard | Response:
    analysis.check_dates(date_from, date_to)
    column = Call.agent if scope == "agent" else Call.team
    calls = analysis.fetch(session, [visible_to(user), column == name], date_from, date_to)
    card = Scorecard(scope=scope, name=name, period=period, date_from=date_from, date_to=date_to,
                     total=analysis.stats(calls), trend=analysis.trend(calls, period))
    return _csv(scorecard_csv(card), f"scorecard-{scope}-{period}.csv") if fmt == "csv" else card


@router.get("/scorecards/agents/{name}", response_model=Scorecard,
            responses={200: CSV_RESPONSE, 404: {"description": "no such agent (or not yours)"}})
def agent_scorecard(name: str, session: SessionDep, user: CurrentUser, period: Period = "week",
                    date_from: FromQuery = None, date_to: ToQuery = None,
                    fmt: FormatQuery = "json") -> Scorecard | Response:
    """An agent's calls: count, average score, grades, pass rate per rule, and the trend per period."""
    _require_agent(session, user, name)
    return _scorecard(session, user, "agent", name, period, date_from, date_to, fmt)


@router.get("/scorecards/teams/{team}", response_model=Scorecard,
            responses={200: CSV_RESPONSE, 403: {"description": "agents have no team scorecards"},
                       404: {"description": "no such team (or not yours)"}})
def team_scorecard(team: str, session: SessionDep, user: CurrentUser, period: Period = "week",
                   date_from: FromQuery = None, date_to: ToQuery = None,
                   fmt: FormatQuery = "json") -> Scorecard | Response:
    """A team's calls: count, average score, grades, pass rate per rule, and the trend per period."""
    require_role(user, "supervisor", "admin")
    analysis.require_team(session, user, team)
    return _scorecard(session, user, "team", team, period, date_from, date_to, fmt)


def _summaries(session: Session, pack_cache: PackCache, calls: list[analysis.CallFacts]) -> dict[str, str]:
    """Rule summaries from the packs the calls were scored with, uploaded ones included (newest version).

    A pack that no longer loads is skipped.
    """
    summaries: dict[str, str] = {}
    for pack_id, language in sorted({(c.pack, c.language) for c in calls}, key=str):
        try:
            pack = get_pack(session, pack_cache, pack_id) if pack_id else pack_cache.pack(None, language)
        except PackError:
            continue
        for rule in pack.rules:
            summaries.setdefault(rule.id, rule.summary)
    return summaries


@router.get("/analysis/weekly", response_model=WeeklyAnalysis,
            responses={200: CSV_RESPONSE, 403: {"description": "supervisors and admins only"},
                       404: {"description": "no such team (or not yours)"},
                       422: {"description": "invalid week"}})
def weekly_analysis(session: SessionDep, user: CurrentUser, pack_cache: PackCacheDep,
                    week: Annotated[str | None, Query(description="ISO week, e.g. 2026-W47 (default: this week, UTC)",
                                                      max_length=16)] = None,
                    team: Annotated[str | None, Query(max_length=128)] = None,
                    fmt: FormatQuery = "json") -> WeeklyAnalysis | Response:
    """The week's most frequent problems, category shares, average handle time and dissatisfaction hotspots."""
    require_role(user, "supervisor", "admin")
    monday = analysis.parse_week(week)
    where = [visible_to(user)]
    if team is not None:
        analysis.require_team(session, user, team)
        where.append(Call.team == team)
    calls = analysis.fetch(session, where, monday, monday + timedelta(days=6))
    previous = analysis.fetch(session, where, monday - timedelta(days=7), monday - timedelta(days=1))
    report = analysis.weekly(calls, previous, monday, team, _summaries(session, pack_cache, calls))
    return _csv(weekly_csv(report), f"weekly-{report.week}.csv") if fmt == "csv" else report
