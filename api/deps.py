"""Request dependencies: ``SessionDep`` (database), ``CurrentUser`` (API key or UI session), ``PackCacheDep``,
``SecretKeyDep`` (the server secret, from :func:`qa_engine.app.secret_key.load_secret_key`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from qa_engine.app.login_sessions import SessionPolicy, session_user
from qa_engine.app.models import User
from qa_engine.app.pack_cache import PackCache
from qa_engine.app.settings import Settings
from qa_engine.app.sign_in import user_by_api_key

from .ui import login_cookie

bearer = HTTPBearer(auto_error=False, description="an API key from `qa-engine users create`")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.session_factory() as session:
        yield session


def get_pack_cache(request: Request) -> PackCache:
    pack_cache: PackCache = request.app.state.pack_cache
    return pack_cache


def get_secret_key(request: Request) -> bytes:
    secret: bytes = request.app.state.secret_key
    return secret


def signed_in_user(request: Request, session: Session) -> tuple[User, str] | None:
    """The web UI's signed-in user and their session token (from the cookie), or None."""
    token = request.cookies.get(login_cookie.COOKIE)
    if not token:
        return None
    user = session_user(session, token, SessionPolicy.from_settings(get_settings(request)))
    return (user, token) if user is not None else None


SettingsDep = Annotated[Settings, Depends(get_settings)]
SecretKeyDep = Annotated[bytes, Depends(get_secret_key)]
SessionDep = Annotated[Session, Depends(get_session)]
PackCacheDep = Annotated[PackCache, Depends(get_pack_cache)]


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail=message,
                         headers={"WWW-Authenticate": "Bearer"})


def get_current_user(request: Request, session: SessionDep,
                     credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> User:
    """The user whose API key is in ``Authorization: Bearer KEY`` (or whose UI session cookie is sent); else 401."""
    if credentials is None and login_cookie.COOKIE in request.cookies:
        return _session_user(request, session)
    if credentials is None:
        raise _unauthorized("missing API key: send the header 'Authorization: Bearer KEY' "
                            "(create a key with 'qa-engine users create NAME --role ROLE')")
    if credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise _unauthorized("malformed Authorization header: expected 'Bearer KEY'")
    user = user_by_api_key(session, credentials.credentials)
    if user is None:
        raise _unauthorized("invalid API key")
    request.state.user_name = user.name  # for the access log
    return user


def _session_user(request: Request, session: Session) -> User:
    """The web UI's signed-in user; unsafe methods also need the session's CSRF token in a header (403 without)."""
    current = signed_in_user(request, session)
    if current is None:
        raise _unauthorized("session expired or invalid: sign in again")
    user, token = current
    if request.method not in login_cookie.SAFE_METHODS and not login_cookie.csrf_ok(
            get_secret_key(request), token, request.headers.get(login_cookie.CSRF_HEADER)):
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN,
                            detail=f"missing or wrong {login_cookie.CSRF_HEADER} header for a signed-in session")
    request.state.user_name = user.name
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


#: A numeric row id in a path: bounded to the 32-bit range every database accepts (bigger ids are a 422, not a 500).
RowId = Annotated[int, Path(ge=1, le=2**31 - 1, description="a numeric id")]
