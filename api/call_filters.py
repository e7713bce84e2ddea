"""The calls filter query parameters (agent, team, status, grade, category, failed_rule, from, to, min/max score),
declared once and parsed into the application layer's :class:`qa_engine.app.call_query.CallFilters`.

``GET /calls``, its CSV export, search and the sentiment card filter calls alike: one declaration keeps their
names, limits and OpenAPI descriptions in step. The values are checked (dates, status, score range) by
:meth:`CallFilters.conditions`, which answers 422 naming the parameter.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from qa_engine.app.call_query import CallFilters

AgentParam = Annotated[str | None, Query(max_length=128)]
TeamParam = Annotated[str | None, Query(max_length=128)]
StatusParam = Annotated[str | None, Query(alias="status", max_length=16,
                                          description="queued, processing, done or failed")]
GradeParam = Annotated[str | None, Query(max_length=32)]
CategoryParam = Annotated[str | None, Query(max_length=64)]
FailedRuleParam = Annotated[str | None, Query(max_length=64, description="calls where this rule failed")]
DateFromParam = Annotated[str | None, Query(alias="from", max_length=40,
                                            description="started (else uploaded) at or after: "
                                                        "date or ISO 8601 date-time")]
DateToParam = Annotated[str | None, Query(alias="to", max_length=40,
                                          description="started before the end of this day / at or "
                                                      "before this date-time")]
ScoreParam = Annotated[float | None, Query(ge=0, le=100)]


def call_filters(agent: AgentParam = None, team: TeamParam = None, status_: StatusParam = None,
                 grade: GradeParam = None, category: CategoryParam = None, failed_rule: FailedRuleParam = None,
                 date_from: DateFromParam = None, date_to: DateToParam = None, min_score: ScoreParam = None,
                 max_score: ScoreParam = None) -> CallFilters:
    """Every filter of ``GET /calls`` (and of its CSV export)."""
    return CallFilters(agent=agent, team=team, status=status_, grade=grade, category=category,
                       failed_rule=failed_rule, date_from=date_from, date_to=date_to, min_score=min_score,
                       max_score=max_score)


def agent_team_period_filters(agent: AgentParam = None, team: TeamParam = None, date_from: DateFromParam = None,
                              date_to: DateToParam = None) -> CallFilters:
    """Who and when only (search)."""
    return CallFilters(agent=agent, team=team, date_from=date_from, date_to=date_to)


def team_period_filters(team: TeamParam = None, date_from: DateFromParam = None,
                        date_to: DateToParam = None) -> CallFilters:
    """Team and when only (per-team statistics, which list the agents themselves)."""
    return CallFilters(team=team, date_from=date_from, date_to=date_to)


CallFiltersDep = Annotated[CallFilters, Depends(call_filters)]
AgentTeamPeriodDep = Annotated[CallFilters, Depends(agent_team_period_filters)]
TeamPeriodDep = Annotated[CallFilters, Depends(team_period_filters)]
