"""Who is signing in: a user found by API key, or by name and password, or by the id in a session cookie.

Why in the application layer: the web UI's sign-in form and the API's bearer authentication must accept the
same credentials the same way; the edge only reads them from a form, a header or a cookie. A failed
attempt answers None, whatever the reason, so the caller cannot tell an unknown name from a wrong password.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_engine.app.api_keys import hash_api_key
from qa_engine.app.models import User
from qa_engine.app.passwords import verify_password


def user_by_api_key(session: Session, api_key: str) -> User | None:
    """The user holding ``api_key`` (looked up by its digest: the key itself is never stored)."""
    return session.scalar(select(User).where(User.api_key_hash == hash_api_key(api_key)))


def user_by_id(session: Session, user_id: int) -> User | None:
    """The user a signed session names, if they still exist."""
    return session.get(User, user_id)


def authenticate(session: Session, *, name: str = "", password: str = "", api_key: str = "") -> User | None:
    """The user the credentials prove: an API key when one is given, else a name and password; else None.

    A user without a password cannot sign in by name (:func:`verify_password` refuses a missing hash).
    """
    if api_key:
        return user_by_api_key(session, api_key.strip())
    if not name:
        return None
    candidate = session.scalar(select(User).where(User.name == name.strip()))
    if candidate is not None and verify_password(password, candidate.password_hash):
        return candidate
    return None


__all__ = ["authenticate", "user_by_api_key", "user_by_id"]
