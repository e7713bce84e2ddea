"""Use cases for scorecards (per agent, per team) and the weekly analysis: who may ask, and what is counted.

Scoping follows :mod:`qa_engine.app.access`: an agent sees their own scorecard only (another name is NotFound,
as a name that does not exist), a supervisor the agents and teams they supervise, an admin everything; team
scorecards and the weekly analysis are for supervisors and admins. The statistics themselves are computed by
:mod:`qa_engine.app.analysis`; the results are the schemas of :mod:`qa_engine.app.analysis_schemas`, which the
HTTP edge serves as JSON or renders as CSV.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_engine.app import analysis, local_time
from qa_engine.app.access import require_role, supervised_teams, visible_to
from qa_engine.app.analysis_schemas import Period, Scorecard, WeeklyAnalysis
from qa_engine.app.models import Call, User
from qa_engine.app.pack_cache import PackCache
from qa_engine.app.packs import get_pack
from qa_engine.errors import PackError

Scope = Literal["agent", "team"]


def require_agent(session: Session, user: User, name: str) -> None:
    """NotFound unless ``user`` may see agent ``name``'s scorecard (self, a supervised agent, or any for admins).

    An agent with no user row still has a scorecard when the user can see some of their calls.
    """
    if user.role == "agent":
        if name != user.name:
            raise analysis.not_found(f"agent {name!r}")
        return
    target = session.scalar(select(User).where(User.name == name))
    if target is not None and (user.role == "admin" or target.team in supervised_teams(session, user)):
        return
    if session.scalar(select(Call.id).where(Call.agent == name, visible_to(user)).limit(1)) is None:
        raise analysis.not_found(f"agent {name!r}")


def _scorecard(session: Session, user: User, scope: Scope, name: str, period: Period, date_from: date | None,
               date_to: date | None) -> Scorecard:
    analysis.check_dates(date_from, date_to)
    column = Call.agent if scope == "agent" else Call.team
    calls = analysis.fetch(session, [visible_to(user), column == name], date_from, date_to)
    return Scorecard(scope=scope, name=name, period=period, date_from=date_from, date_to=date_to,
                     total=analysis.stats(calls), trend=analysis.trend(calls, period))


def agent_scorecard(session: Session, user: User, name: str, period: Period, date_from: date | None,
                    date_to: date | None) -> Scorecard:
    """An agent's visible calls: count, average score, grades, pass rate per rule, and the trend per period."""
    require_agent(session, user, name)
    return _scorecard(session, user, "agent", name, period, date_from, date_to)


def team_scorecard(session: Session, user: User, team: str, period: Period, date_from: date | None,
                   date_to: date | None) -> Scorecard:
    """A team's visible calls, as :func:`agent_scorecard` (supervisors of the team and admins only)."""
    require_role(user, "supervisor", "admin")
    analysis.require_team(session, user, team)
    return _scorecard(session, user, "team", team, period, date_from, date_to)


def rule_summaries(session: Session, pack_cache: PackCache, calls: list[analysis.CallFacts]) -> dict[str, str]:
    """Rule summaries from the packs the calls were scored with, uploaded ones included (newest version).

    A pack that no longer loads is skipped: the analysis then shows the rule id without a summary.
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


def weekly_analysis(session: Session, pack_cache: PackCache, user: User, week: str | None,
                    team: str | None) -> WeeklyAnalysis:
    """The ISO ``week``'s (default: this week in the call centre's zone) problems, categories, handle time and
    hotspots, with the week before for comparison; of one ``team`` or every call the user may see (supervisors and
    admins)."""
    require_role(user, "supervisor", "admin")
    monday = analysis.parse_week(week, local_time.today(local_time.service_zone(session)))
    where = [visible_to(user)]
    if team is not None:
        analysis.require_team(session, user, team)
        where.append(Call.team == team)
    calls = analysis.fetch(session, where, monday, monday + timedelta(days=6))
    previous = analysis.fetch(session, where, monday - timedelta(days=7), monday - timedelta(days=1))
    return analysis.weekly(calls, previous, monday, team, rule_summaries(session, pack_cache, calls))


__all__ = ["agent_scorecard", "require_agent", "rule_summaries", "team_scorecard", "weekly_analysis"]
