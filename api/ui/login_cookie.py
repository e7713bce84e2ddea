"""The web UI's cookies and CSRF tokens.

* ``qa_session``: a random session token (see :mod:`qa_engine.app.login_sessions`; the server stores its digest).
  HttpOnly, SameSite=Lax, Path=/, ``Secure`` on HTTPS (directly or via a trusted proxy) or when forced by the
  ``force_secure_cookies`` setting. Nothing in it is signed: there is nothing to forge.
* CSRF for a signed-in session: ``HMAC(secret, "csrf:" + token)``, sent by forms as ``csrf_token`` and by the UI's
  JavaScript as the ``X-CSRF-Token`` header on every unsafe API call; a cross-site page can read neither.
* CSRF for the sign-in form (no session yet): a signed double-submit token. The sign-in page sets ``qa_signin``
  (a random nonce; HttpOnly, SameSite=Strict) and puts ``HMAC(secret, "sign-in:" + nonce)`` in the form; a
  sign-in is accepted only when both arrive and match.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
import secrets

from fastapi import Request, Response

from qa_engine.app.settings import Settings

from ..security_headers import is_https

COOKIE = "qa_session"
SIGN_IN_COOKIE = "qa_signin"
SIGN_IN_COOKIE_MAX_AGE_S = 12 * 3600
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_COOKIE_CHARS = 128


def _sign(secret: bytes, purpose: str, payload: str) -> str:
    digest = hmac.new(secret, f"{purpose}:{payload}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _matches(expected: str, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest((sent or "").encode("utf-8"), expected.encode("utf-8"))


def csrf_token(secret: bytes, session_token: str) -> str:
    """The CSRF token of one session (bound to its cookie, so it changes on every sign-in)."""
    return _sign(secret, "csrf", session_token)


def csrf_ok(secret: bytes, session_token: str, sent: str | None) -> bool:
    return _matches(csrf_token(secret, session_token), sent)


def sign_in_nonce(request: Request) -> str:
    """The nonce of the sign-in form: the browser's ``qa_signin`` cookie when it has a usable one, else a new one."""
    current = request.cookies.get(SIGN_IN_COOKIE, "")
    if 32 <= len(current) <= MAX_COOKIE_CHARS and re.fullmatch(r"[A-Za-z0-9_-]+", current):
        return current
    return secrets.token_urlsafe(32)


def sign_in_token(secret: bytes, nonce: str) -> str:
    """The CSRF token the sign-in form carries for the nonce in the browser's ``qa_signin`` cookie."""
    return _sign(secret, "sign-in", nonce)


def sign_in_ok(secret: bytes, nonce: str | None, sent: str | None) -> bool:
    return bool(nonce) and len(nonce or "") <= MAX_COOKIE_CHARS and _matches(sign_in_token(secret, nonce or ""), sent)


def secure(request: Request, settings: Settings) -> bool:
    """Whether cookies set on this response are marked ``Secure``."""
    return settings.force_secure_cookies or is_https(request)


def set_session(response: Response, request: Request, settings: Settings, token: str) -> None:
    response.set_cookie(COOKIE, token, max_age=math.ceil(settings.session_max_age_s), httponly=True, samesite="lax",
                        secure=secure(request, settings), path="/")


def clear_session(response: Response, request: Request, settings: Settings) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=secure(request, settings))


def set_sign_in_nonce(response: Response, request: Request, settings: Settings, nonce: str) -> None:
    response.set_cookie(SIGN_IN_COOKIE, nonce, max_age=SIGN_IN_COOKIE_MAX_AGE_S, httponly=True, samesite="strict",
                        secure=secure(request, settings), path="/ui/login")


def clear_sign_in_nonce(response: Response, request: Request, settings: Settings) -> None:
    response.delete_cookie(SIGN_IN_COOKIE, path="/ui/login", httponly=True, samesite="strict",
                           secure=secure(request, settings))
