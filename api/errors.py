"""Error mapping at the HTTP edge: each domain error of the application layer answers one status.

Use cases raise :mod:`qa_engine.app.errors`; here they become ``{"detail": message}`` with 404, 403, 409, 413,
415 or 422, the same body FastAPI gives an ``HTTPException``. A value the database refuses answers 422 in the shape of a
request-validation error (a list under ``detail``), as it did when it was raised as one.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from qa_engine.app.db_errors import DatabaseValueError
from qa_engine.app.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, TooLarge, UnsupportedMedia

#: First match wins: the more specific kinds come before :class:`Invalid`.
STATUS_OF: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, status.HTTP_404_NOT_FOUND),
    (Forbidden, status.HTTP_403_FORBIDDEN),
    (Conflict, status.HTTP_409_CONFLICT),
    (TooLarge, status.HTTP_413_CONTENT_TOO_LARGE),
    (UnsupportedMedia, status.HTTP_415_UNSUPPORTED_MEDIA_TYPE),
    (Invalid, status.HTTP_422_UNPROCESSABLE_CONTENT),
)


def status_of(error: DomainError) -> int:
    """The HTTP status for ``error`` (422 for a domain error of no more specific kind)."""
    for kind, code in STATUS_OF:
        if isinstance(error, kind):
            return code
    return status.HTTP_422_UNPROCESSABLE_CONTENT


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    if isinstance(exc, DatabaseValueError):
        return JSONResponse({"detail": exc.errors()}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    return JSONResponse({"detail": str(exc)}, status_code=status_of(exc))


def install(app: FastAPI) -> None:
    """Map every domain error raised while answering a request to its status."""
    app.add_exception_handler(DomainError, _domain_error)
