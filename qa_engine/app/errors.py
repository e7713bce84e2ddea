"""Domain errors of the application layer: what went wrong, in words a user can act on, with no HTTP in them.

Use cases raise these; the HTTP edge maps each kind to one status (``api/errors.py``: 404, 403, 409, 413,
415, 422) and the CLI prints the message on one line. Keeping the mapping at the edge is what lets the batch,
the worker and the CLI share the use cases without loading a web framework.
"""

from __future__ import annotations

from qa_engine.errors import QaEngineError


class DomainError(QaEngineError):
    """Base of the errors below; ``str(error)`` is the message shown to the user."""


class NotFound(DomainError):
    """No such thing, or one the user may not see (both answer the same, so ids cannot be probed)."""


class Forbidden(DomainError):
    """The user is known but their role or scope does not allow the action."""


class Conflict(DomainError):
    """The action clashes with the current state (a finished review, a version already taken, a pack gone)."""


class Invalid(DomainError):
    """A value given by the user is malformed or out of range; the message names the field."""


class TooLarge(Invalid):
    """An upload over the configured size limit (the message names the setting)."""


class UnsupportedMedia(Invalid):
    """An upload that is not audio at all (as opposed to audio that cannot be read, which is :class:`Invalid`)."""


__all__ = ["Conflict", "DomainError", "Forbidden", "Invalid", "NotFound", "TooLarge", "UnsupportedMedia"]
