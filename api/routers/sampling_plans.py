"""Sampling plans (抽检): create, list, delete. A new plan also draws its team's recently scored calls.

The use cases are in :mod:`qa_engine.app.sampling` and :func:`qa_engine.app.review_queue.create_sampling_plan`
(agents 403, a team or plan the user does not supervise 404, too many plans 409). Here: parse, call, shape.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from qa_engine.app import review_queue, sampling
from qa_engine.app.access import as_utc
from qa_engine.app.models import SamplingPlan

from ..deps import CurrentUser, RowId, SessionDep
from ..review_queue_schemas import PlanCreate, PlanCreated, PlanInclude, PlanPublic

router = APIRouter(prefix="/sampling-plans", tags=["review queue"])
Responses = dict[int | str, dict[str, Any]]


def plan_public(plan: SamplingPlan, counts: sampling.DrawCounts) -> dict[str, Any]:
    return {"id": plan.id, "team": plan.team, "percent": plan.percent, "per_agent_min": plan.per_agent_min,
            "include": PlanInclude(**plan.include) if plan.include else None,
            "since": as_utc(plan.since) or plan.since, "created_by": plan.created_by,
            "created_at": as_utc(plan.created_at) or plan.created_at, "drawn": counts.drawn,
            "selected": counts.selected}


@router.post("", response_model=PlanCreated, status_code=status.HTTP_201_CREATED,
             responses={403: {"description": "supervisors and admins only"}, 404: {"description": "no such team"},
                        409: {"description": "the team has too many plans"}})
def create_plan(body: PlanCreate, session: SessionDep, user: CurrentUser) -> PlanCreated:
    """Create a plan; the team's calls scored since the start of the previous day (call centre time zone) that are
    not in the queue yet are drawn at once, every call scored later when it is stored."""
    include = sampling.CallFilter.parse(body.include.model_dump(exclude_none=True) if body.include else None)
    spec = sampling.PlanSpec(team=body.team, percent=body.percent, per_agent_min=body.per_agent_min, include=include)
    plan, selected = review_queue.create_sampling_plan(session, user, spec)
    counts = sampling.draw_counts(session, [plan.id]).get(plan.id, sampling.DrawCounts())
    return PlanCreated(**plan_public(plan, counts), backfilled=selected)


@router.get("", response_model=list[PlanPublic],
            responses={403: {"description": "supervisors and admins only"}, 404: {"description": "no such team"}})
def list_plans(session: SessionDep, user: CurrentUser,
               team: Annotated[str | None, Query(min_length=1, max_length=128)] = None) -> list[PlanPublic]:
    """The plans of the teams you supervise (admins: all), oldest first, with how many calls each drew."""
    plans = sampling.visible_plans(session, user, team)
    counts = sampling.draw_counts(session, [p.id for p in plans])
    return [PlanPublic(**plan_public(p, counts.get(p.id, sampling.DrawCounts()))) for p in plans]


@router.delete("/{plan_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses={403: {"description": "supervisors and admins only"},
                          404: {"description": "no such plan (or not yours)"}})
def delete_plan(plan_id: RowId, session: SessionDep, user: CurrentUser) -> Response:
    """Delete a plan (audited); the calls it selected stay in the queue."""
    sampling.delete_plan(session, user, plan_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
