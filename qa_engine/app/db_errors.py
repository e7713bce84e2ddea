"""Database errors a user can act on: an unreachable database, and values a column cannot hold.

:func:`explain_errors` is attached to every engine by :func:`qa_engine.app.database.make_engine`. It turns

- a failed connect into :class:`DatabaseUnavailableError` (one line in the CLI, password hidden), and
- a value the database refuses (PostgreSQL: NUL characters in text, integers beyond the column's range, text longer
  than the column; SQLite: integers beyond 64 bits; both: lone surrogates, which no UTF-8 text can hold) into
  :class:`DatabaseValueError`, which the HTTP edge answers 422 like any other invalid input. SQLite accepts what
  PostgreSQL refuses, so without this the same request is a 422 on one backend and a 500 on the other.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DataError, OperationalError

from qa_engine.app.errors import Invalid
from qa_engine.errors import QaEngineError
from qa_engine.transcript import text_problem

#: PostgreSQL INTEGER columns (every id here) hold 32-bit values.
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


class DatabaseUnavailableError(QaEngineError, OperationalError):
    """No connection to the configured database could be made (server down, wrong host, port, name or password).

    Still an :class:`~sqlalchemy.exc.OperationalError` for code that handles database errors, and a
    :class:`~qa_engine.errors.QaEngineError` so the CLI prints one line instead of a traceback.
    """

    def __init__(self, message: str, orig: BaseException) -> None:
        OperationalError.__init__(self, None, None, orig)
        self.message = message

    def __str__(self) -> str:
        return self.message


class DatabaseValueError(Invalid):
    """A value the database cannot store or compare (it came from the request: the HTTP edge answers 422)."""

    def __init__(self, field: str | None, reason: str) -> None:
        self.field = field
        self.message = f"{field}: {reason}" if field else reason
        super().__init__(self.message)

    def errors(self) -> list[dict[str, object]]:
        """The error in the shape of a request-validation error (``loc``/``msg``/``type``), for API clients."""
        return [{"type": "value_error", "loc": ["request", self.field] if self.field else ["request"],
                 "msg": self.message, "input": None}]

    def __str__(self) -> str:
        return self.message


def explain_errors(context: ExceptionContext) -> None:
    """``handle_error`` listener: raise the clearer errors above; anything else goes on unchanged."""
    orig = context.original_exception
    if context.connection is None and not context.is_pre_ping:
        reason = "; ".join(line.strip() for line in str(orig).splitlines() if line.strip())
        url = context.engine.url.render_as_string(hide_password=True) if context.engine is not None else "?"
        raise DatabaseUnavailableError(f"cannot connect to the database {url}: {reason} "
                                       "(check --db / QA_ENGINE_DB_URL)", orig)
    if isinstance(context.sqlalchemy_exception, DataError) or isinstance(orig, OverflowError | UnicodeEncodeError):
        raise _value_error(orig, _named_values(context)) from orig


def _value_error(orig: BaseException, named_values: Iterator[tuple[str, Any]]) -> DatabaseValueError:
    values = list(named_values)
    message = str(orig).splitlines()[0] if str(orig) else type(orig).__name__
    if isinstance(orig, UnicodeEncodeError) or "surrogate" in message:  # "\ud800" from a JSON body: not UTF-8
        field = next((name for name, value in values if isinstance(value, str) and text_problem(value)), None)
        return DatabaseValueError(field, "text cannot contain lone surrogates (\\ud800 to \\udfff): not valid Unicode")
    if "NUL" in message or "\x00" in message:
        field = next((name for name, value in values if isinstance(value, str) and "\x00" in value), None)
        return DatabaseValueError(field, "text cannot contain NUL characters (\\u0000)")
    if "out of range" in message or isinstance(orig, OverflowError):
        field = next((name for name, value in values if isinstance(value, int) and not isinstance(value, bool)
                      and not INT32_MIN <= value <= INT32_MAX), None)
        return DatabaseValueError(field, f"number out of range (ids are between 1 and {INT32_MAX})")
    diag = getattr(orig, "diag", None)
    reason = getattr(diag, "message_primary", None) or message
    return DatabaseValueError(None, f"a value does not fit the database: {reason}")


def _named_values(context: ExceptionContext) -> Iterator[tuple[str, Any]]:
    """(column-ish name, value) for the statement's parameters (``agent_1`` -> ``agent``; ``pk_1`` -> ``id``).

    psycopg gets named parameters; sqlite3 positional ones, named through the compiled statement.
    """
    parameters = context.parameters
    compiled = getattr(context.execution_context, "compiled", None)
    positions = getattr(compiled, "positiontup", None) or []
    batches: Sequence[Any] = parameters if isinstance(parameters, list) else [parameters]
    for batch in batches:
        if isinstance(batch, Mapping):
            pairs: Iterator[tuple[Any, Any]] = iter(batch.items())
        elif isinstance(batch, tuple | list) and positions:
            pairs = zip(positions, batch, strict=False)
        else:
            continue
        for key, value in pairs:
            name = re.sub(r"_\d+$", "", str(key))
            yield ("id" if name == "pk" else name), value
