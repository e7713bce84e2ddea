"""A wall-clock limit on running a pack's rules over one call.

Every pattern match is linear-time (RE2), but a big pack over a long transcript can still add up; the scoring of
one call must not run for minutes. The limit is a deadline checked between rules and before each utterance a
matcher looks at (no thread is interrupted): past it, :class:`RulesTimeLimit` ends the scoring of that call, whose
message names the limit and the rule that was running. The service turns it into a failed call (worker) or a
422 (transcript upload).

The limit applies to every caller: :data:`DEFAULT_TIME_LIMIT_S`, or what :func:`rules_time_limit` sets for the
current thread (the service passes ``rules_time_limit_s``); ``None`` turns it off.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import QaEngineError

__all__ = ["DEFAULT_TIME_LIMIT_S", "Deadline", "RulesTimeLimit", "current_limit", "rules_time_limit"]

DEFAULT_TIME_LIMIT_S: float = 10.0
_LIMIT: contextvars.ContextVar[float | None] = contextvars.ContextVar("rules_time_limit_s",
                                                                     default=DEFAULT_TIME_LIMIT_S)


class RulesTimeLimit(QaEngineError):
    """Running the rules on one call took longer than the limit."""


def current_limit() -> float | None:
    """The limit for calls scored in this context (seconds; None: none)."""
    return _LIMIT.get()


@contextmanager
def rules_time_limit(seconds: float | None) -> Iterator[None]:
    """Use ``seconds`` as the limit for the calls scored inside the block (this thread / task)."""
    token = _LIMIT.set(seconds)
    try:
        yield
    finally:
        _LIMIT.reset(token)


class Deadline:
    """The moment one call's rule evaluation must be over; :meth:`check` raises past it."""

    __slots__ = ("at", "limit_s", "rule_id")

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s
        self.at = time.monotonic() + limit_s
        self.rule_id = ""

    def check(self) -> None:
        if time.monotonic() > self.at:
            where = f" (stopped in rule '{self.rule_id}')" if self.rule_id else ""
            raise RulesTimeLimit(f"rule evaluation took longer than {self.limit_s:g} s on this call{where}; "
                                 "the pack's patterns are too costly for a transcript this long "
                                 "(QA_ENGINE_RULES_TIME_LIMIT_S)")
