"""``/api/v1/search``: find utterances across the calls the user may see (:mod:`qa_engine.app.search`)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from qa_engine.app.search import MAX_QUERY_CHARS, SearchQuery, search_calls

from ..call_filters import AgentTeamPeriodDep
from ..deps import CurrentUser, SessionDep

router = APIRouter(tags=["search"])


class SearchHitPublic(BaseModel):
    id: str  # the call, as in /calls/{id}
    call_id: str
    agent: str
    team: str | None
    started_at: datetime | None
    start: float
    end: float
    role: str
    text: str


class SearchResults(BaseModel):
    items: list[SearchHitPublic]
    total: int
    limit: int
    offset: int


@router.get("/search", response_model=SearchResults,
            responses={422: {"description": "empty or over-long query, unknown role, bad filter or page"}})
def search(session: SessionDep, user: CurrentUser, filters: AgentTeamPeriodDep,
           q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS,
                                   description="words to find, matched where a word starts, any case "
                                               "(hi finds Hi, not while); Chinese anywhere")],
           role: Annotated[str | None, Query(max_length=16, description="agent or customer")] = None,
           limit: Annotated[int, Query(ge=1, le=200)] = 20,
           offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> SearchResults:
    """Utterances whose masked text holds ``q``, in the calls the user may see (newest call first)."""
    page = search_calls(session, user, SearchQuery(text=q, role=role, agent=filters.agent, team=filters.team,
                                                   date_from=filters.date_from, date_to=filters.date_to, limit=limit,
                                                   offset=offset))
    return SearchResults(items=[SearchHitPublic(**asdict(hit)) for hit in page.items], total=page.total,
                         limit=limit, offset=offset)
