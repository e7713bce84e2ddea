"""Scorecards per agent and per team by day/week/month, and the weekly analysis, as JSON or CSV.

Who may see what, and the statistics, are decided by :mod:`qa_engine.app.scorecards`; this module parses the
query, calls it and serves the result as JSON or as a CSV attachment.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from qa_engine.app import scorecards
from qa_engine.app.analysis_csv import scorecard_csv, weekly_csv
from qa_engine.app.analysis_schemas import Period, Scorecard, WeeklyAnalysis

from ..deps import CurrentUser, PackCacheDep, SessionDep

router = APIRouter(tags=["scorecards"])
Format = Literal["json", "csv"]
CSV_RESPONSE = {"content": {"text/csv": {"schema": {"type": "string"}}},
                "description": "the same figures as JSON, or as CSV with format=csv"}
FromQuery = Annotated[date | None, Query(alias="from", description="first day (call centre time zone), inclusive")]
ToQuery = Annotated[date | None, Query(alias="to", description="last day (call centre time zone), inclusive")]
FormatQuery = Annotated[Format, Query(alias="format")]


def _csv(text: str, filename: str) -> Response:
    return Response(content=text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _served(card: Scorecard, fmt: Format) -> Scorecard | Response:
    return _csv(scorecard_csv(card), f"scorecard-{card.scope}-{card.period}.csv") if fmt == "csv" else card


@router.get("/scorecards/agents/{name}", response_model=Scorecard,
            responses={200: CSV_RESPONSE, 404: {"description": "no such agent (or not yours)"}})
def agent_scorecard(name: str, session: SessionDep, user: CurrentUser, period: Period = "week",
                    date_from: FromQuery = None, date_to: ToQuery = None,
                    fmt: FormatQuery = "json") -> Scorecard | Response:
    """An agent's calls: count, average score, grades, pass rate per rule, and the trend per period."""
    return _served(scorecards.agent_scorecard(session, user, name, period, date_from, date_to), fmt)


@router.get("/scorecards/teams/{team}", response_model=Scorecard,
            responses={200: CSV_RESPONSE, 403: {"description": "agents have no team scorecards"},
                       404: {"description": "no such team (or not yours)"}})
def team_scorecard(team: str, session: SessionDep, user: CurrentUser, period: Period = "week",
                   date_from: FromQuery = None, date_to: ToQuery = None,
                   fmt: FormatQuery = "json") -> Scorecard | Response:
    """A team's calls: count, average score, grades, pass rate per rule, and the trend per period."""
    return _served(scorecards.team_scorecard(session, user, team, period, date_from, date_to), fmt)


@router.get("/analysis/weekly", response_model=WeeklyAnalysis,
            responses={200: CSV_RESPONSE, 403: {"description": "supervisors and admins only"},
                       404: {"description": "no such team (or not yours)"},
                       422: {"description": "invalid week"}})
def weekly_analysis(session: SessionDep, user: CurrentUser, pack_cache: PackCacheDep,
                    week: Annotated[str | None, Query(description="ISO week, e.g. 2026-W47 (default: this week, "
                                                                  "call centre time zone)", max_length=16)] = None,
                    team: Annotated[str | None, Query(max_length=128)] = None,
                    fmt: FormatQuery = "json") -> WeeklyAnalysis | Response:
    """The week's most frequent problems, category shares, average handle time and dissatisfaction hotspots."""
    report = scorecards.weekly_analysis(session, pack_cache, user, week, team)
    return _csv(weekly_csv(report), f"weekly-{report.week}.csv") if fmt == "csv" else report
