"""Signed session cookies for the web UI (HMAC-SHA256 with the server secret) and their CSRF tokens.

The cookie holds only the user id and an expiry; nothing is stored server-side. State-changing requests
authenticated by the cookie must also send ``X-CSRF-Token`` (a token derived from the cookie), which a
cross-site page cannot read; SameSite=Lax is the second line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

COOKIE = "qa_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
LIFETIME_S = 12 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class SessionData:
    user_id: int
    expires: int


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, purpose: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode("utf-8"), f"{purpose}:{payload}".encode(), hashlib.sha256).digest())


def encode(secret: str, user_id: int, now: float | None = None, lifetime_s: int = LIFETIME_S) -> str:
    """A cookie value for ``user_id`` valid for ``lifetime_s`` seconds."""
    expires = int((now if now is not None else time.time()) + lifetime_s)
    payload = _b64(json.dumps({"u": user_id, "e": expires}, separators=(",", ":")).encode())
    return f"{payload}.{_sign(secret, 'session', payload)}"


def decode(secret: str, value: str | None, now: float | None = None) -> SessionData | None:
    """The session in a cookie value, or None when it is missing, forged, malformed or expired."""
    if not value or len(value) > 512 or value.count(".") != 1:
        return None
    payload, signature = value.split(".")
    if not hmac.compare_digest(signature, _sign(secret, "session", payload)):
        return None
    try:
        doc = json.loads(_unb64(payload))
        data = SessionData(user_id=int(doc["u"]), expires=int(doc["e"]))
    except (ValueError, KeyError, TypeError):
        return None
    if data.expires < (now if now is not None else time.time()):
        return None
    return data


def csrf_token(secret: str, cookie_value: str) -> str:
    """The CSRF token of one session (bound to the cookie, so it changes on every sign-in)."""
    return _sign(secret, "csrf", cookie_value)


def csrf_ok(secret: str, cookie_value: str, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(sent or "", csrf_token(secret, cookie_value))
