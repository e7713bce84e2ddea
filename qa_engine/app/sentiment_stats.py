"""Customer sentiment at the end of calls, by team and by agent: the dashboard's sentiment card.

Reads the ``calls.customer_end_sentiment`` column (filled by :func:`qa_engine.app.report_store.store_report`)
with one grouped query per level, scoped like every call list (:func:`qa_engine.app.access.visible_to`) and
filtered like ``GET /calls`` (team, from, to: :class:`qa_engine.app.call_query.CallFilters`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from qa_engine.app.access import visible_to
from qa_engine.app.call_query import CallFilters
from qa_engine.app.local_time import service_zone
from qa_engine.app.models import Call, User
from qa_engine.sentiment import score_texts, speaker_summary

__all__ = ["NEGATIVE_BELOW", "SentimentGroup", "SentimentStats", "customer_end_from_report", "customer_end_stats"]

#: An end below this counts as a negative ending (the standard packs' ``customer_negative_end`` threshold).
NEGATIVE_BELOW = -0.3
#: Agents listed at most (the most calls first); teams are few.
MAX_AGENTS = 200


@dataclass(frozen=True)
class SentimentGroup:
    """One team's or agent's calls: how many have a customer end sentiment, its mean, the negative share."""

    name: str
    team: str | None
    calls: int
    mean_end: float
    negative_share: float


@dataclass(frozen=True)
class SentimentStats:
    overall: SentimentGroup
    teams: list[SentimentGroup]
    agents: list[SentimentGroup]


def customer_end_from_report(report: Any) -> float | None:
    """The customer's end sentiment of a stored report document: its analytics when present, else computed from
    its customer utterances (older reports); None without customer speech or for a document that is not one."""
    if not isinstance(report, dict):
        return None
    analytics = report.get("analytics")
    sentiment = analytics.get("sentiment") if isinstance(analytics, dict) else None
    customer = sentiment.get("customer") if isinstance(sentiment, dict) else None
    if isinstance(customer, dict) and isinstance(customer.get("end"), int | float):
        return float(customer["end"])
    utterances = report.get("utterances")
    if not isinstance(utterances, list):
        return None
    texts: list[str] = [u["text"] for u in utterances if isinstance(u, dict) and u.get("role") == "customer"
                        and isinstance(u.get("text"), str)]
    language = report.get("language") if isinstance(report.get("language"), str) else None
    summary = speaker_summary(score_texts(texts, language))
    return None if summary is None else summary.end


def customer_end_stats(session: Session, user: User, filters: CallFilters | None = None) -> SentimentStats:
    """Per team and per agent (the calls ``user`` may see), the mean customer end sentiment and negative share.

    Bad filter values are a 422 naming the parameter (the calls list's own validation).
    """
    filters = filters or CallFilters()
    where = [visible_to(user), Call.customer_end_sentiment.is_not(None), *filters.conditions(service_zone(session))]
    value = Call.customer_end_sentiment
    negative = func.sum(case((value < NEGATIVE_BELOW, 1), else_=0))
    measures = (func.count(), func.avg(value), negative)

    def groups(*keys: Any, limit: int | None = None) -> list[Any]:
        query = select(*keys, *measures).where(*where)
        if keys:
            query = query.group_by(*keys).order_by(func.count().desc(), *keys)
        if limit is not None:
            query = query.limit(limit)
        return list(session.execute(query).all())

    def group(name: str, team_name: str | None, n: int, mean: float | None, neg: int | None) -> SentimentGroup:
        return SentimentGroup(name=name, team=team_name, calls=int(n), mean_end=round(float(mean or 0.0), 3),
                              negative_share=round(int(neg or 0) / n, 3) if n else 0.0)

    (n, mean, neg), = groups()
    teams = [group(t or "", t, n_, m, g) for t, n_, m, g in groups(Call.team)]
    agents = [group(a, t, n_, m, g) for a, t, n_, m, g in groups(Call.agent, Call.team, limit=MAX_AGENTS)]
    return SentimentStats(overall=group("all", filters.team, n, mean, neg), teams=teams, agents=agents)
