"""Who may see which call: the one place role scoping is decided (lists, reads, audio, reports, exports).

Also who may change what someone wrote (:func:`require_author`).

A call the user may not see is treated exactly like a call that does not exist (404), so ids leak nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from qa_engine.app.errors import Forbidden, NotFound
from qa_engine.app.models import Call, User, UserTeam


def supervised_teams(session: Session, user: User) -> list[str]:
    """The teams a supervisor sees: their own team plus those in ``user_teams``."""
    teams = set(session.scalars(select(UserTeam.team).where(UserTeam.user_id == user.id)))
    if user.team:
        teams.add(user.team)
    return sorted(teams)


def visible_to(user: User) -> ColumnElement[bool]:
    """SQL condition on :class:`Call`: admin all, supervisor their teams', agent their own."""
    if user.role == "admin":
        return true()
    if user.role == "supervisor":
        teams = select(UserTeam.team).where(UserTeam.user_id == user.id).scalar_subquery()
        own = Call.team == user.team if user.team else false()
        return or_(own, Call.team.in_(teams))
    return Call.agent == user.name


def can_see_team(session: Session, user: User, team: str) -> bool:
    """Whether ``user`` may read ``team``'s settings: admin any, supervisor their teams, agent their own."""
    if user.role == "admin":
        return True
    if user.role == "supervisor":
        return team in supervised_teams(session, user)
    return user.team == team


def teams_of(session: Session, user: User) -> list[str]:
    """The teams ``user`` works with (pickers in the UI): a supervisor's, every team with calls for an admin."""
    if user.role == "supervisor":
        return supervised_teams(session, user)
    if user.role == "admin":
        return sorted(t for t in session.scalars(select(Call.team).where(visible_to(user)).distinct()) if t)
    return [user.team] if user.team else []


class Owned(Protocol):
    """Whatever names an agent and a team, as a live call does before it is stored."""

    @property
    def agent(self) -> str: ...

    @property
    def team(self) -> str | None: ...


def live_scope(session: Session, user: User) -> Callable[[Owned], bool]:
    """Who may see which live call: the rules of :func:`visible_to`, as a test on a call not yet in the database.

    The teams are read now, so the test needs no database connection later (a live feed may last hours).
    """
    if user.role == "admin":
        return lambda _call: True
    if user.role == "supervisor":
        allowed = set(supervised_teams(session, user))
        return lambda call: call.team is not None and call.team in allowed
    name = user.name
    return lambda call: call.agent == name


def not_found(call_id: str) -> NotFound:
    return NotFound(f"call {call_id!r} not found")


def get_visible_call(session: Session, user: User, call_id: str) -> Call:
    """The call ``call_id`` if ``user`` may see it; otherwise 404 (same answer as for no such call)."""
    call = session.scalar(select(Call).where(Call.id == call_id, visible_to(user)))
    if call is None:
        raise not_found(call_id)
    return call


def require_role(user: User, *roles: str) -> None:
    """403 unless ``user`` has one of ``roles`` (for actions, not for reading calls: those answer 404)."""
    if user.role not in roles:
        raise Forbidden(f"this action needs the role {' or '.join(roles)} (you are {user.role})")


def require_author(user: User, author: str, action: str, *, admin_too: bool = False) -> None:
    """403 unless ``user`` wrote it (``author``); with ``admin_too`` an admin may as well (moderation).

    For changing what someone wrote (a coaching comment): reading stays scoped by :func:`visible_to` (404).
    """
    if user.name == author or (admin_too and user.role == "admin"):
        return
    who = "its author or an admin" if admin_too else "its author"
    raise Forbidden(f"only {who} may {action} this (written by {author})")


def as_utc(moment: datetime | None) -> datetime | None:
    """Stored and returned in UTC (SQLite keeps no offset; a naive time is taken as UTC)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
