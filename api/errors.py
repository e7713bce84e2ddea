"""Error mapping at the HTTP edge: each domain error of the application layer answers one status.

Use cases raise :mod:`qa_engine.app.errors`; here they become ``{"detail": message}`` with 404, 403, 409, 413,
415 or 422, the same body FastAPI gives an ``HTTPException``. A value the database refuses answers 422 in the shape of a
request-validation error (a list under ``detail``), as it did when it was raised as one.

No input may answer 5xx or drop the connection: error bodies are written so that any text can be sent (a lone
surrogate echoed from a JSON body is escaped, a deeply nested or huge rejected value is summarized), and an
exception nothing handled still answers a JSON 500 (logged with its traceback) on a connection that stays open.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request, Response, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from qa_engine.app.db_errors import DatabaseValueError
from qa_engine.app.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, TooLarge, UnsupportedMedia

from .response_start import NotingSend

logger = logging.getLogger(__name__)

#: First match wins: the more specific kinds come before :class:`Invalid`.
STATUS_OF: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, status.HTTP_404_NOT_FOUND),
    (Forbidden, status.HTTP_403_FORBIDDEN),
    (Conflict, status.HTTP_409_CONFLICT),
    (TooLarge, status.HTTP_413_CONTENT_TOO_LARGE),
    (UnsupportedMedia, status.HTTP_415_UNSUPPORTED_MEDIA_TYPE),
    (Invalid, status.HTTP_422_UNPROCESSABLE_CONTENT),
)
#: How much of a rejected value a validation error echoes (the rest is summarized).
MAX_ECHO_CHARS = 200


class SafeJSONResponse(JSONResponse):
    """JSON as FastAPI writes it, except that text UTF-8 cannot hold (a lone surrogate) is sent as its JSON escape."""

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))
        # Only str values hold surrogates, and they are inside JSON strings, where "\ud800" is a valid escape.
        return text.encode("utf-8", "backslashreplace")


def status_of(error: DomainError) -> int:
    """The HTTP status for ``error`` (422 for a domain error of no more specific kind)."""
    for kind, code in STATUS_OF:
        if isinstance(error, kind):
            return code
    return status.HTTP_422_UNPROCESSABLE_CONTENT


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    if isinstance(exc, DatabaseValueError):
        return SafeJSONResponse({"detail": exc.errors()}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    return SafeJSONResponse({"detail": str(exc)}, status_code=status_of(exc))


def _echo(value: Any) -> Any:
    """A rejected value as a validation error shows it: short scalars as they are, anything else summarized."""
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        return value if abs(value) < 10**30 else f"<a number of about {int(value.bit_length() * 0.30103) + 1} digits>"
    if isinstance(value, str):
        return value if len(value) <= MAX_ECHO_CHARS else value[:MAX_ECHO_CHARS] + f"... ({len(value)} characters)"
    if isinstance(value, dict | list | tuple):
        return f"<{'an object' if isinstance(value, dict) else 'a list'} of {len(value)} items>"
    return f"<{type(value).__name__}>"


def _plain(value: Any) -> Any:
    """``loc`` entries and ``ctx`` values as JSON (an exception in ``ctx`` as its message)."""
    if value is None or isinstance(value, str | int | float | bool):
        return _echo(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value[:20]]
    return str(value)[:MAX_ECHO_CHARS]


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 body (``detail``: a list of ``type``/``loc``/``msg``/``input``), with each rejected input
    summarized: echoing a value nested 1000 deep, or with a lone surrogate, would fail to encode (a 500)."""
    assert isinstance(exc, RequestValidationError)
    errors = []
    for error in exc.errors():
        shown = {key: _plain(value) for key, value in error.items() if key not in ("input", "ctx", "url")}
        if "input" in error:
            shown["input"] = _echo(error["input"])
        if isinstance(error.get("ctx"), dict):
            shown["ctx"] = {str(key): _plain(value) for key, value in error["ctx"].items()}
        errors.append(shown)
    return SafeJSONResponse({"detail": errors}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


#: What FastAPI answers (400) when reading a JSON body raised something other than a syntax error.
_BODY_PARSE_ERROR = "There was an error parsing the body"


async def _http_error(request: Request, exc: Exception) -> Response:
    """FastAPI's answer to an ``HTTPException``, except that a JSON body Python could not read says why (422):
    nested too deeply for the parser (``RecursionError``) or holding an integer over 4300 digits."""
    assert isinstance(exc, StarletteHTTPException)
    cause = exc.__cause__
    if exc.status_code == status.HTTP_400_BAD_REQUEST and exc.detail == _BODY_PARSE_ERROR:
        if isinstance(cause, RecursionError):
            return SafeJSONResponse({"detail": "JSON nested too deeply to read"},
                                    status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
        if isinstance(cause, ValueError) and "digits" in str(cause):
            return SafeJSONResponse({"detail": "a number in the JSON is too long (Python reads at most 4300 "
                                               "digits)"}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    return await http_exception_handler(request, exc)


class CatchAll:
    """ASGI middleware: an exception nothing else handled answers a JSON 500 naming an error id, and is logged.

    Starlette's own last resort sends a plain-text 500 and re-raises, after which the server closes the
    connection: a client reusing it sees a dropped connection on its next request. Here the exception ends
    with the answer. Should the answer have started already, the exception goes on (nothing else can be sent).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send_and_note = NotingSend(send)
        try:
            await self.app(scope, receive, send_and_note)
        except Exception:
            if send_and_note.started:
                raise
            error_id = uuid.uuid4().hex[:12]
            logger.exception("unhandled error %s in %s %s", error_id, scope.get("method"), scope.get("path"))
            response = SafeJSONResponse({"detail": f"internal error (logged as {error_id}); please report it"},
                                        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR)
            await response(scope, receive, send)


def install(app: FastAPI) -> None:
    """Map every domain error raised while answering a request to its status; no exception drops a connection."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(CatchAll)
