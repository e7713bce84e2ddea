"""Supervisor drill-down: one agent's overview (``/agents/{name}/overview``) and the call list as CSV
(``/calls/export``, mounted before the calls router so ``export`` is not taken for a call id).

The use cases are :mod:`qa_engine.app.agent_overview` and :mod:`qa_engine.app.call_export`; scoping is that of
every call read (:mod:`qa_engine.app.access`). Here: parse, call, shape the answer.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from qa_engine.app import agent_overview, call_export
from qa_engine.app.access import as_utc
from qa_engine.app.analysis_schemas import Period
from qa_engine.app.call_query import ALLOWED_SORTS

from ..call_filters import CallFiltersDep
from ..coaching_schemas import AgentOverviewPublic, OpenDisputePublic, RuleBenchmarkPublic
from ..deps import CurrentUser, SessionDep
from .coaching import call_ref, note_public

router = APIRouter(tags=["agents"])


@router.get("/agents/{name}/overview", response_model=AgentOverviewPublic,
            responses={403: {"description": "supervisors and admins only"},
                       404: {"description": "no such agent (or not in your teams)"},
                       422: {"description": "bad period or dates"}})
def read_agent_overview(name: str, session: SessionDep, user: CurrentUser, period: Period = "week",
                        date_from: Annotated[date | None, Query(alias="from", description="first day (call centre "
                                                                "time zone); default: 13 weeks ago")] = None,
                        date_to: Annotated[date | None, Query(alias="to", description="last day (call centre time "
                                                              "zone)")] = None,
                        ) -> AgentOverviewPublic:
    """One agent for their supervisor: trend per rule, the team's benchmark, recent calls, open disputes and
    coaching history."""
    view = agent_overview.agent_overview(session, user, name, period, date_from, date_to)
    return AgentOverviewPublic(
        agent=view.agent, team=view.team, period=period, date_from=view.date_from, date_to=view.date_to,
        scorecard=view.scorecard, team_total=view.team_total,
        rules=[RuleBenchmarkPublic(**vars(r)) for r in view.rules],
        recent_calls=[call_ref(c) for c in view.recent_calls],
        open_disputes=[OpenDisputePublic(id=d.review.id, rule_id=d.review.rule_id,
                                         requested_status=d.review.requested_status, comment=d.review.comment,
                                         created_at=as_utc(d.review.created_at) or d.review.created_at,
                                         about=call_ref(d.call)) for d in view.open_disputes],
        coaching=[note_public(n) for n in view.coaching], coaching_total=view.coaching_total)


@router.get("/calls/export", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "one row per call (masked fields only); Link rel=next when paged"},
                       422: {"description": "bad filter, sort or page, or too many calls without 'limit'"}})
def export_calls(request: Request, session: SessionDep, user: CurrentUser, filters: CallFiltersDep,
                 fmt: Annotated[Literal["csv"], Query(alias="format")] = "csv",
                 sort: Annotated[str, Query(max_length=32, description=f"one of {ALLOWED_SORTS}")] = "-created_at",
                 limit: Annotated[int | None, Query(ge=1, le=call_export.MAX_EXPORT_ROWS,
                                                    description="rows per page (then page with offset); without "
                                                                "it, more than "
                                                                f"{call_export.MAX_EXPORT_ROWS} calls is a 422")
                                  ] = None,
                 offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> StreamingResponse:
    """The calls of ``GET /calls`` (same filters, sort and scope) as CSV, streamed; audited."""
    plan = call_export.plan_export(session, user, filters, sort, limit=limit, offset=offset)
    headers = {"Content-Disposition": 'attachment; filename="calls.csv"', "X-Total-Count": str(plan.total),
               "Cache-Control": "no-store"}
    if plan.next_offset is not None:
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "offset"]
        headers["Link"] = f'<{request.url.path}?{urlencode([*query, ("offset", str(plan.next_offset))])}>; rel="next"'
    return StreamingResponse(call_export.csv_chunks(request.app.state.session_factory, plan),
                             media_type=f"text/{fmt}; charset=utf-8", headers=headers)
