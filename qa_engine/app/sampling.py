"""Sampling plans (抽检): which of a team's scored calls a supervisor reviews, chosen reproducibly.

A plan draws each scored call of its team once: ``value = HMAC-SHA256(plan seed, call id)`` read as a number in
[0, 100); the call is selected when ``value < percent`` (rule ``percent``). ``per_agent_min`` then tops up: while
fewer than that many of an agent's calls of one day (the call's start, else when it was filed, on the call centre's
calendar: :mod:`qa_engine.app.local_time`) were selected by the plan, the next call drawn is selected too (rule
``per_agent_min``; calls are drawn in scoring order). The seed is random per plan and never shown, so agents
cannot tell in advance which calls will be picked, but every draw is stored
(:class:`~qa_engine.app.models.SamplingDraw`: value, selected, rule) so an auditor can re-check it.

Draws of one plan running at once (two scorings of one call, or of two calls of one agent) stay exact, on SQLite
and PostgreSQL alike: a call is drawn once per plan (the draw is inserted with ``ON CONFLICT DO NOTHING``: the later
draw leaves the earlier one be), and a draw that may top up takes the plan's lock on the agent's day
(:class:`~qa_engine.app.models.SamplingAgentDay`, created on first use) before it counts, so top-ups of one agent
and day take turns and never exceed ``per_agent_min``. Only those wait for each other: other agents, days and
plans, and draws selected by ``percent``, take no lock. (``percent`` selections count too, and are never undone:
a day can still end with more than ``per_agent_min``, as it can when the calls come one after another.)

``include`` narrows the plan to some calls (every given field must match):
``category`` (the category label or id), ``grade`` (the grade label or id) and ``max_score`` (score at most).

Here: plan validation, storage and the draw. Putting selected calls into the queue is
:mod:`qa_engine.app.review_queue`'s job (it calls :func:`draw` when a call is scored, and back-fills new plans).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from qa_engine.app.access import require_role, supervised_teams
from qa_engine.app.analysis import call_moment, require_team
from qa_engine.app.audit import record
from qa_engine.app.errors import Conflict, Invalid, NotFound
from qa_engine.app.first_use import insert_if_absent, locked_row
from qa_engine.app.local_time import day_start, local_day, service_zone, today
from qa_engine.app.models import Call, SamplingAgentDay, SamplingDraw, SamplingPlan, User, utcnow

SUPERVISORS = ("supervisor", "admin")
MAX_PLANS_PER_TEAM = 20
MAX_PER_AGENT_MIN = 100
MAX_TEAM_LENGTH = 128
MAX_LABEL_LENGTH = 64
INCLUDE_FIELDS = ("category", "grade", "max_score")


@dataclass(frozen=True)
class CallFilter:
    """Which calls a plan considers (``None``: any). Labels match the call's label or its canonical id."""

    category: str | None = None
    grade: str | None = None
    max_score: float | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None) -> CallFilter:
        """``include`` as the user wrote it; Invalid naming the field for an unknown key or a bad value."""
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise Invalid("include: expected an object such as {\"category\": \"投诉\", \"max_score\": 80}")
        unknown = sorted(str(k) for k in raw if k not in INCLUDE_FIELDS)
        if unknown:
            raise Invalid(f"include: unknown field {unknown[0]!r} (use {', '.join(INCLUDE_FIELDS)})")
        return cls(category=_label(raw, "category"), grade=_label(raw, "grade"), max_score=_score(raw))

    def as_json(self) -> dict[str, Any] | None:
        given = {k: v for k, v in (("category", self.category), ("grade", self.grade),
                                   ("max_score", self.max_score)) if v is not None}
        return given or None

    def matches(self, call: Call) -> bool:
        if self.category is not None and self.category not in (call.category, getattr(call, "category_id", None)):
            return False
        if self.grade is not None and self.grade not in (call.grade, getattr(call, "grade_id", None)):
            return False
        return self.max_score is None or (call.score is not None and call.score <= self.max_score)


def _label(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_LABEL_LENGTH:
        raise Invalid(f"include.{key}: expected a non-empty string of at most {MAX_LABEL_LENGTH} characters")
    return value.strip()


def _score(raw: Mapping[str, Any]) -> float | None:
    value = raw.get("max_score")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not 0 <= value <= 100:
        raise Invalid("include.max_score: expected a number from 0 to 100")
    return float(value)


@dataclass(frozen=True)
class PlanSpec:
    """A plan as requested: validated by :meth:`checked` (the HTTP schema checks the same, this is the rule)."""

    team: str
    percent: float
    per_agent_min: int = 0
    include: CallFilter = CallFilter()

    def checked(self) -> PlanSpec:
        team = self.team.strip()
        if not team or len(team) > MAX_TEAM_LENGTH:
            raise Invalid(f"team: expected a team name of 1 to {MAX_TEAM_LENGTH} characters")
        if not math.isfinite(self.percent) or not 0 <= self.percent <= 100:
            raise Invalid("percent: expected a number from 0 to 100")
        if not 0 <= self.per_agent_min <= MAX_PER_AGENT_MIN:
            raise Invalid(f"per_agent_min: expected a whole number from 0 to {MAX_PER_AGENT_MIN}")
        if self.percent == 0 and self.per_agent_min == 0:
            raise Invalid("percent: a plan with percent 0 and no per_agent_min would never select a call")
        return PlanSpec(team=team, percent=float(self.percent), per_agent_min=self.per_agent_min,
                        include=self.include)


def lookback_start(now: datetime, zone: tzinfo) -> datetime:
    """Where a new plan's back-fill starts: the start of the previous day in ``zone`` (the call centre's), in UTC."""
    return day_start(today(zone, now) - timedelta(days=1), zone)


def draw_value(seed: str, call_pk: str) -> float:
    """The plan's number for a call, uniform in [0, 100): HMAC-SHA256 keyed with the plan's seed."""
    digest = hmac.new(seed.encode("ascii"), call_pk.encode("utf-8"), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") * 100.0 / 2**64


def plan_filter(plan: SamplingPlan) -> CallFilter:
    return CallFilter.parse(plan.include)


def call_day(call: Call, zone: tzinfo) -> str:
    """The call's day in ``zone``, as per-day quotas count it."""
    return local_day(call_moment(call.started_at, call.created_at), zone).isoformat()


def draw(session: Session, plan: SamplingPlan, call: Call) -> SamplingDraw | None:
    """Draw ``call`` for ``plan`` once (None: drawn before or by another transaction at the same instant, or not in
    the plan's team or filter); caller commits."""
    if call.team != plan.team or call.status != "done" or not plan_filter(plan).matches(call):
        return None
    if session.get(SamplingDraw, (plan.id, call.id)) is not None:  # drawn before: no lock taken
        return None
    day, value = call_day(call, service_zone(session)), draw_value(plan.seed, call.id)
    rule: str | None = "percent" if value < plan.percent else None
    if rule is None and plan.per_agent_min:
        rule = "per_agent_min" if _selected_that_day(session, plan, call.agent, day) < plan.per_agent_min else None
    if not insert_if_absent(session, SamplingDraw, plan_id=plan.id, call_pk=call.id, agent=call.agent, day=day,
                            value=round(value, 6), selected=rule is not None, rule=rule, at=utcnow()):
        return None  # drawn by another transaction at the same instant: its draw stands
    return session.get(SamplingDraw, (plan.id, call.id))


def _selected_that_day(session: Session, plan: SamplingPlan, agent: str, day: str) -> int:
    """How many of ``agent``'s calls of ``day`` ``plan`` selected, counted under the plan's lock on that agent and
    day (held until commit): a concurrent top-up of the same agent and day waits, then counts this one's draw."""
    insert_if_absent(session, SamplingAgentDay, plan_id=plan.id, agent=agent, day=day)
    locked_row(session, SamplingAgentDay, (plan.id, agent, day))
    return session.scalar(select(func.count()).select_from(SamplingDraw).where(
        SamplingDraw.plan_id == plan.id, SamplingDraw.agent == agent, SamplingDraw.day == day,
        SamplingDraw.selected.is_(True))) or 0


def team_plans(session: Session, team: str | None) -> list[SamplingPlan]:
    """The plans of ``team`` (oldest first): what every call scored for that team is drawn by."""
    if team is None:
        return []
    return list(session.scalars(select(SamplingPlan).where(SamplingPlan.team == team).order_by(SamplingPlan.id)))


def create_plan(session: Session, user: User, spec: PlanSpec) -> SamplingPlan:
    """Store a new plan for a team ``user`` supervises (admins: any); flushed, not committed (see the back-fill).

    Raises:
        Forbidden: an agent. NotFound: a team the user does not supervise.
        Invalid: a value out of range. Conflict: the team has :data:`MAX_PLANS_PER_TEAM` plans already.
    """
    require_role(user, *SUPERVISORS)
    spec = spec.checked()
    require_team(session, user, spec.team)
    count = session.scalar(select(func.count()).select_from(SamplingPlan).where(SamplingPlan.team == spec.team)) or 0
    if count >= MAX_PLANS_PER_TEAM:
        raise Conflict(f"team {spec.team!r} has {count} sampling plans already (at most {MAX_PLANS_PER_TEAM}); "
                       "delete one first")
    now = utcnow()
    plan = SamplingPlan(team=spec.team, percent=spec.percent, per_agent_min=spec.per_agent_min,
                        include=spec.include.as_json(), seed=secrets.token_hex(32),
                        since=lookback_start(now, service_zone(session)),
                        created_by=user.name, created_at=now)
    session.add(plan)
    session.flush()
    return plan


def visible_plans(session: Session, user: User, team: str | None) -> list[SamplingPlan]:
    """The plans of the teams ``user`` supervises (admins: all), optionally of one team, oldest first."""
    require_role(user, *SUPERVISORS)
    query = select(SamplingPlan).order_by(SamplingPlan.id)
    if team is not None:
        require_team(session, user, team)
        query = query.where(SamplingPlan.team == team)
    elif user.role != "admin":
        query = query.where(SamplingPlan.team.in_(supervised_teams(session, user)))
    return list(session.scalars(query))


def visible_plan(session: Session, user: User, plan_id: int) -> SamplingPlan:
    require_role(user, *SUPERVISORS)
    plan = session.get(SamplingPlan, plan_id)
    if plan is None or (user.role != "admin" and plan.team not in supervised_teams(session, user)):
        raise NotFound(f"sampling plan {plan_id} not found")
    return plan


def plan_record(plan: SamplingPlan) -> dict[str, Any]:
    """What the audit trail keeps of a plan (never the seed)."""
    return {"id": plan.id, "team": plan.team, "percent": plan.percent, "per_agent_min": plan.per_agent_min,
            "include": plan.include}


def delete_plan(session: Session, user: User, plan_id: int) -> None:
    """Delete a plan and its draws (calls it put in the queue stay there); audited, committed."""
    plan = visible_plan(session, user, plan_id)
    record(session, user.name, "sampling_plan.deleted", before=plan_record(plan),
           detail=f"sampling plan {plan.id} of team {plan.team} deleted")
    session.execute(delete(SamplingDraw).where(SamplingDraw.plan_id == plan.id))
    session.delete(plan)
    session.commit()


@dataclass(frozen=True)
class DrawCounts:
    drawn: int = 0
    selected: int = 0


def draw_counts(session: Session, plan_ids: list[int]) -> dict[int, DrawCounts]:
    """Per plan: how many calls it drew and how many of those it selected."""
    if not plan_ids:
        return {}
    rows = session.execute(select(SamplingDraw.plan_id, SamplingDraw.selected, func.count())
                           .where(SamplingDraw.plan_id.in_(plan_ids))
                           .group_by(SamplingDraw.plan_id, SamplingDraw.selected))
    counts: dict[int, list[int]] = {}
    for plan_id, selected, n in rows:
        entry = counts.setdefault(plan_id, [0, 0])
        entry[0] += n
        entry[1] += n if selected else 0
    return {plan_id: DrawCounts(drawn, chosen) for plan_id, (drawn, chosen) in counts.items()}


__all__ = ["INCLUDE_FIELDS", "MAX_PER_AGENT_MIN", "MAX_PLANS_PER_TEAM", "CallFilter", "DrawCounts", "PlanSpec",
           "create_plan", "delete_plan", "draw", "draw_counts", "draw_value", "lookback_start", "plan_record",
           "team_plans", "visible_plan", "visible_plans"]
