"""Who is signing in: a user found by API key, or by name and password; and how often sign-in may fail.

Why in the application layer: the web UI's sign-in form and the API's bearer authentication must accept the
same credentials the same way; the edge only reads them from a form, a header or a cookie. A failed
attempt answers None, whatever the reason, so the caller cannot tell an unknown name from a wrong password
(or from a disabled user). :class:`SignInLimiter` counts failed attempts per account and per client address.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_engine.app.api_keys import hash_api_key
from qa_engine.app.models import User
from qa_engine.app.passwords import verify_password
from qa_engine.app.settings import Settings


def user_by_api_key(session: Session, api_key: str) -> User | None:
    """The enabled user holding ``api_key`` (looked up by its digest: the key itself is never stored)."""
    if not api_key:
        return None
    user = session.scalar(select(User).where(User.api_key_hash == hash_api_key(api_key)))
    return user if user is not None and not user.disabled else None


def authenticate(session: Session, *, name: str = "", password: str = "", api_key: str = "") -> User | None:
    """The user the credentials prove: an API key when one is given, else a name and password; else None.

    A user without a password cannot sign in by name (:func:`verify_password` refuses a missing hash); a
    disabled user cannot sign in at all.
    """
    if api_key:
        return user_by_api_key(session, api_key.strip())
    if not name:
        return None
    candidate = session.scalar(select(User).where(User.name == name.strip()))
    if candidate is not None and verify_password(password, candidate.password_hash) and not candidate.disabled:
        return candidate
    if candidate is None:
        verify_password(password, _DUMMY_HASH)  # the same work for an unknown name: no timing tell
    return None


_DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


class SignInLimiter:
    """Sliding-window limits on *failed* sign-ins, per account name and per client address (in memory).

    Before checking a password, :meth:`retry_after` says whether either limit is reached (and for how many
    seconds); :meth:`failed` records a failure, :meth:`succeeded` forgets the account's failures. At most
    ``max_keys`` names and addresses are tracked each (the oldest are dropped first), so a flood of made-up
    names cannot grow memory without bound. Thread-safe.
    """

    def __init__(self, max_per_account: int = 5, max_per_ip: int = 20, window_s: float = 900.0, *,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000) -> None:
        self.max_per_account = max_per_account
        self.max_per_ip = max_per_ip
        self.window_s = window_s
        self.clock = clock
        self.max_keys = max_keys
        self._accounts: dict[str, deque[float]] = {}
        self._ips: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> SignInLimiter:
        return cls(settings.sign_in_max_failures, settings.sign_in_max_failures_per_ip, settings.sign_in_window_s)

    @staticmethod
    def account_key(name: str) -> str:
        return name.strip().casefold()[:128]

    def retry_after(self, name: str, ip: str | None) -> int | None:
        """Whole seconds until another attempt is allowed, or None when one is allowed now."""
        now = self.clock()
        waits: list[float] = []
        with self._lock:
            for table, key, limit in ((self._accounts, self.account_key(name), self.max_per_account),
                                      (self._ips, ip or "", self.max_per_ip)):
                if not key:
                    continue
                times = self._recent(table, key, now)
                if times is not None and len(times) >= limit:
                    waits.append(times[len(times) - limit] + self.window_s - now)
        return max(1, math.ceil(max(waits))) if waits else None

    def failed(self, name: str, ip: str | None) -> None:
        now = self.clock()
        with self._lock:
            for table, key in ((self._accounts, self.account_key(name)), (self._ips, ip or "")):
                if key:
                    times = self._recent(table, key, now)
                    if times is None:
                        self._make_room(table, now)
                        times = table[key] = deque()
                    times.append(now)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._accounts.pop(self.account_key(name), None)

    def _recent(self, table: dict[str, deque[float]], key: str, now: float) -> deque[float] | None:
        times = table.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def _make_room(self, table: dict[str, deque[float]], now: float) -> None:
        if len(table) < self.max_keys:
            return
        for key in [k for k, times in table.items() if not times or times[-1] <= now - self.window_s]:
            del table[key]
        while len(table) >= self.max_keys:
            del table[next(iter(table))]


__all__ = ["SignInLimiter", "authenticate", "user_by_api_key"]
