"""User management shared by the CLI (``qa-engine users create/set-password/disable/enable/sign-out``) and, later,
admin endpoints. Changing a password or disabling a user ends all of the user's web sessions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_engine.app.api_keys import generate_api_key, hash_api_key
from qa_engine.app.first_use import insert_unless_taken
from qa_engine.app.login_sessions import revoke_user_sessions
from qa_engine.app.models import ROLES, User, UserTeam
from qa_engine.app.passwords import hash_password, password_problem
from qa_engine.errors import QaEngineError


def create_user(session: Session, name: str, role: str, team: str | None = None,
                extra_teams: list[str] | tuple[str, ...] = (), password: str | None = None) -> tuple[User, str]:
    """Add a user with a new API key; returns the user and the key (shown once, stored hashed).

    ``team`` is an agent's team or a supervisor's (first) team; ``extra_teams`` are further teams a
    supervisor supervises; ``password`` (optional) allows signing in to the web UI.

    Raises:
        QaEngineError: bad role, empty name, the name is taken, or an agent given several teams.
    """
    name = name.strip()
    if not name:
        raise QaEngineError("user name must not be empty")
    if role not in ROLES:
        raise QaEngineError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    extra = [t.strip() for t in extra_teams if t.strip() and t.strip() != team]
    if extra and role != "supervisor":
        raise QaEngineError(f"only a supervisor can have several teams ({name!r} is an {role})")
    if password is not None and (problem := password_problem(password)):
        raise QaEngineError(problem)
    key = generate_api_key()
    user = _insert_named(session, name, role=role, team=team or None, api_key_hash=hash_api_key(key),
                         password_hash=hash_password(password) if password is not None else None)
    session.add_all(UserTeam(user_id=user.id, team=t) for t in dict.fromkeys(extra))
    session.commit()
    return user, key


def _insert_named(session: Session, name: str, **values: object) -> User:
    """Insert the user ``name``, or raise "already exists": also when another transaction creates the same name at
    the same instant (two ``users create`` at once), which a look-up before the insert would miss (a traceback)."""
    if not insert_unless_taken(session, User, ["name"], name=name, **values):
        session.rollback()  # nothing was written; ends the transaction (SQLite: its write lock) like a refusal
        raise QaEngineError(f"user {name!r} already exists")
    return session.scalars(select(User).where(User.name == name)).one()


def set_password(session: Session, name: str, password: str) -> User:
    """Set (or replace) a user's web sign-in password, stored as a salted scrypt hash.

    Every web session of the user is revoked (whoever knew the old password is signed out).

    Raises:
        QaEngineError: no such user, or the password is too short or too long.
    """
    user = _named(session, name)
    if problem := password_problem(password):
        raise QaEngineError(problem)
    user.password_hash = hash_password(password)
    revoke_user_sessions(session, user.id)
    session.commit()
    return user


def set_disabled(session: Session, name: str, disabled: bool = True) -> User:
    """Disable a user (their API key, password and sessions are refused; sessions are revoked) or enable them again.

    Raises:
        QaEngineError: no such user.
    """
    user = _named(session, name)
    user.disabled = disabled
    if disabled:
        revoke_user_sessions(session, user.id)
    session.commit()
    return user


def sign_out_everywhere(session: Session, name: str) -> int:
    """Revoke every open web session of a user; returns how many were open.

    Raises:
        QaEngineError: no such user.
    """
    user = _named(session, name)
    count = revoke_user_sessions(session, user.id)
    session.commit()
    return count


def _named(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name.strip()))
    if user is None:
        raise QaEngineError(f"no user {name!r}")
    return user
