"""Server-side web sign-in sessions: created on sign-in, looked up (and touched) on each request, revoked.

The browser's cookie holds only a random 256-bit token; the database holds its SHA-256 digest (like API keys: a
random token needs no slow hash, and a leaked table yields no usable cookie). A session is valid while

* it is not revoked: sign-out revokes it; a password change or disabling the user revokes all of the user's;
* it was used within the idle timeout (``session_idle_timeout_s``, default 30 minutes);
* it is younger than the absolute maximum age (``session_max_age_s``, default 12 hours);
* its user exists and is not disabled.

Every function takes ``now`` (default: the current time) so expiry can be tested without waiting.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from qa_engine.app.models import LoginSession, User
from qa_engine.app.settings import Settings

TOKEN_BYTES = 32
#: The longest token accepted from a cookie (a token is 43 characters; anything much longer is not ours).
MAX_TOKEN_CHARS = 128
#: Stale rows (expired or revoked this long ago) are deleted when someone signs in.
KEEP_EXPIRED = timedelta(days=7)


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives: ``idle_timeout_s`` without a request, ``max_age_s`` in all."""

    idle_timeout_s: float = 30 * 60.0
    max_age_s: float = 12 * 3600.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionPolicy:
        return cls(idle_timeout_s=settings.session_idle_timeout_s, max_age_s=settings.session_max_age_s)

    @property
    def touch_interval(self) -> timedelta:
        """``last_seen_at`` is written at most this often (not one write per request)."""
        return timedelta(seconds=min(60.0, self.idle_timeout_s / 10))


def hash_token(token: str) -> str:
    """The stored form of a session token: hex SHA-256."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    """SQLite hands timestamps back without a zone; they are stored in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def create_session(db: Session, user: User, policy: SessionPolicy, *, client_ip: str | None = None,
                   now: datetime | None = None) -> str:
    """Start a session for ``user``; returns the token for the cookie (stored only hashed). Commits.

    Also deletes rows that expired or were revoked more than a week ago, so the table stays small.
    """
    moment = _now(now)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    stale = moment - timedelta(seconds=policy.max_age_s) - KEEP_EXPIRED
    db.execute(delete(LoginSession).where(or_(LoginSession.created_at < stale, LoginSession.revoked_at < stale)))
    db.add(LoginSession(token_hash=hash_token(token), user_id=user.id, created_at=moment, last_seen_at=moment,
                        client_ip=(client_ip or None) and client_ip[:64]))
    db.commit()
    return token


def session_user(db: Session, token: str | None, policy: SessionPolicy, *,
                 now: datetime | None = None) -> User | None:
    """The signed-in user of a cookie's token, or None (unknown, revoked, idle too long, too old, user disabled).

    A valid session is touched (``last_seen_at``, at most every :attr:`SessionPolicy.touch_interval`), which
    keeps it from idling out; commits when it writes.
    """
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    row = db.scalar(select(LoginSession).where(LoginSession.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None:
        return None
    moment = _now(now)
    last_seen = _aware(row.last_seen_at)
    if moment - _aware(row.created_at) >= timedelta(seconds=policy.max_age_s):
        return None
    if moment - last_seen >= timedelta(seconds=policy.idle_timeout_s):
        return None
    user = db.get(User, row.user_id)
    if user is None or user.disabled:
        return None
    if moment - last_seen >= policy.touch_interval:
        row.last_seen_at = moment
        db.commit()
    return user


def revoke_session(db: Session, token: str | None, *, now: datetime | None = None) -> bool:
    """End the session of ``token`` (sign-out); True when one was open. Commits."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return False
    result = db.execute(update(LoginSession)
                        .where(LoginSession.token_hash == hash_token(token), LoginSession.revoked_at.is_(None))
                        .values(revoked_at=_now(now)))
    db.commit()
    return bool(getattr(result, "rowcount", 0))


def revoke_user_sessions(db: Session, user_id: int, *, now: datetime | None = None) -> int:
    """End every open session of a user (password changed, user disabled, "sign out everywhere").

    Does not commit: the caller commits it with the change that caused it. Returns how many were open.
    """
    result = db.execute(update(LoginSession)
                        .where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
                        .values(revoked_at=_now(now)))
    return int(getattr(result, "rowcount", 0) or 0)


__all__ = ["SessionPolicy", "create_session", "hash_token", "revoke_session", "revoke_user_sessions",
           "session_user"]
