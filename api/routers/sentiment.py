"""``/api/v1/analytics/sentiment``: customer sentiment at the end of calls by team and agent (dashboard card).

The use case is :func:`qa_engine.app.sentiment_stats.customer_end_stats` (scoped like every call read); here:
parse, call, shape the answer.
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter
from pydantic import BaseModel

from qa_engine.app.sentiment_stats import NEGATIVE_BELOW, customer_end_stats

from ..call_filters import TeamPeriodDep
from ..deps import CurrentUser, SessionDep

router = APIRouter(tags=["analytics"])


class SentimentGroupPublic(BaseModel):
    name: str  # the team or agent ("all" for the overall row)
    team: str | None
    calls: int  # calls with customer speech
    mean_end: float  # mean customer sentiment at the end of the call, -1..1
    negative_share: float  # share of calls that ended below ``negative_below``


class SentimentStatsPublic(BaseModel):
    negative_below: float
    overall: SentimentGroupPublic
    teams: list[SentimentGroupPublic]
    agents: list[SentimentGroupPublic]


@router.get("/analytics/sentiment", response_model=SentimentStatsPublic,
            responses={422: {"description": "bad 'from'/'to' (a date or an ISO 8601 date-time), or from >= to"}})
def read_sentiment_stats(session: SessionDep, user: CurrentUser, filters: TeamPeriodDep) -> SentimentStatsPublic:
    """Mean customer sentiment at the end of the calls you may see, overall, per team and per agent."""
    stats = customer_end_stats(session, user, filters)
    return SentimentStatsPublic(negative_below=NEGATIVE_BELOW,
                                overall=SentimentGroupPublic(**asdict(stats.overall)),
                                teams=[SentimentGroupPublic(**asdict(g)) for g in stats.teams],
                                agents=[SentimentGroupPublic(**asdict(g)) for g in stats.agents])
