"""A supervisor's drill-down on one agent: scorecard and trend per rule, the team's benchmark next to it, recent
calls, open disputes and coaching history, in one read.

For supervisors of the agent's team and admins (agents have ``/ui/me``; they may not see team figures). Who may
see the agent is :func:`qa_engine.app.scorecards.require_agent` (404 otherwise, as for a name that does not exist);
every figure counts only calls the user may see (:func:`qa_engine.app.access.visible_to`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_engine.app import analysis, coaching, local_time
from qa_engine.app.access import can_see_team, require_role, visible_to
from qa_engine.app.analysis_schemas import Period, Scorecard, Stats
from qa_engine.app.call_query import WHEN
from qa_engine.app.models import Call, Review, User
from qa_engine.app.scorecards import agent_scorecard

#: Without dates, the overview covers the last 13 weeks (a quarter of weekly trend points).
DEFAULT_DAYS = 91
RECENT_CALLS = 10
OPEN_DISPUTES = 50
COACHING_NOTES = 20


@dataclass(frozen=True)
class RuleBenchmark:
    """One rule: the agent's pass rate next to the team's (None where the rule never applied)."""

    rule_id: str
    agent_pass_rate: float | None
    agent_applied: int
    team_pass_rate: float | None
    team_applied: int


@dataclass(frozen=True)
class OpenDispute:
    review: Review
    call: Call


@dataclass(frozen=True)
class AgentOverview:
    """Everything the agent page shows; ``team_total`` is None when the agent has no team the user may see."""

    agent: str
    team: str | None
    date_from: date | None
    date_to: date | None
    scorecard: Scorecard
    team_total: Stats | None
    rules: list[RuleBenchmark]
    recent_calls: list[Call]
    open_disputes: list[OpenDispute]
    coaching: list[coaching.CoachingNote]
    coaching_total: int


def agent_team(session: Session, user: User, name: str) -> str | None:
    """The agent's team: from their user row, else from their latest call the user may see."""
    team = session.scalar(select(User.team).where(User.name == name))
    if team:
        return team
    return session.scalar(select(Call.team).where(Call.agent == name, visible_to(user), Call.team.is_not(None))
                          .order_by(WHEN.desc()).limit(1))


def benchmark(agent: Stats, team: Stats | None) -> list[RuleBenchmark]:
    """Per rule (every rule either side has), the agent's and the team's pass rates."""
    mine = {r.rule_id: r for r in agent.rules}
    theirs = {r.rule_id: r for r in team.rules} if team else {}
    rows = []
    for rule_id in sorted(set(mine) | set(theirs)):
        a, t = mine.get(rule_id), theirs.get(rule_id)
        rows.append(RuleBenchmark(rule_id=rule_id, agent_pass_rate=a.pass_rate if a else None,
                                  agent_applied=(a.passed + a.failed) if a else 0,
                                  team_pass_rate=t.pass_rate if t else None,
                                  team_applied=(t.passed + t.failed) if t else 0))
    return rows


def default_dates(date_from: date | None, date_to: date | None, today: date) -> tuple[date | None, date | None]:
    """The range asked for; the last :data:`DEFAULT_DAYS` days (``today`` included) when neither end is given."""
    if date_from is None and date_to is None:
        return today - timedelta(days=DEFAULT_DAYS - 1), None
    return date_from, date_to


def agent_overview(session: Session, user: User, name: str, period: Period, date_from: date | None,
                   date_to: date | None) -> AgentOverview:
    """The drill-down on agent ``name`` for a supervisor of their team or an admin.

    Raises:
        Forbidden: the user is an agent.
        NotFound: no such agent, or one the user may not see.
        Invalid: ``from`` after ``to``.
    """
    require_role(user, *coaching.STAFF)
    date_from, date_to = default_dates(date_from, date_to, local_time.today(local_time.service_zone(session)))
    card = agent_scorecard(session, user, name, period, date_from, date_to)  # 404 for an agent not theirs
    team = agent_team(session, user, name)
    team_total = None
    if team is not None and can_see_team(session, user, team):
        team_total = analysis.stats(analysis.fetch(session, [visible_to(user), Call.team == team], date_from, date_to))
    recent = list(session.scalars(select(Call).where(Call.agent == name, visible_to(user))
                                  .order_by(WHEN.desc(), Call.id.desc()).limit(RECENT_CALLS)))
    disputes = [OpenDispute(review, call) for review, call in session.execute(
        select(Review, Call).join(Call, Call.id == Review.call_pk)
        .where(Call.agent == name, visible_to(user), Review.kind == "dispute", Review.state == "open")
        .order_by(Review.created_at, Review.id).limit(OPEN_DISPUTES))]
    notes, notes_total = coaching.history(session, user, name, limit=COACHING_NOTES, offset=0)
    return AgentOverview(agent=name, team=team, date_from=date_from, date_to=date_to, scorecard=card,
                         team_total=team_total, rules=benchmark(card.total, team_total), recent_calls=recent,
                         open_disputes=disputes, coaching=notes, coaching_total=notes_total)


__all__ = ["AgentOverview", "OpenDispute", "RuleBenchmark", "agent_overview", "agent_team", "benchmark",
           "default_dates"]
