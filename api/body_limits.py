"""Request body limits per route, enforced before the body is read; API bodies need a credential first.

An ASGI middleware, so nothing downstream (FastAPI's body parsing, a form parser, a handler) can read more than
its route allows:

* ``Content-Length`` over the route's limit: 413 at once, the body is never read;
* a body sent without a length (chunked) is counted as it streams in: 413 as soon as the limit is passed;
* a body-carrying request to ``/api/v1/...`` without an ``Authorization`` header or a session cookie: 401 before
  a byte is read (whether the credential is *valid* is for :func:`api.deps.get_current_user` to say; it runs
  before the handlers that read large bodies).

Limits (settings, in MB): transcript JSON on ``POST /calls`` (``max_transcript_body_mb``), audio forms on
``POST /calls`` (``max_upload_mb`` plus room for the form fields), rule packs on ``POST /packs`` and
``/packs/validate`` (``max_pack_body_mb``), every other body (``max_body_mb``). Answers keep the service's error
shape, ``{"detail": "..."}``.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa_engine.app.settings import Settings

from .response_start import NotingSend
from .ui import login_cookie
from .uploads import FORM_SLACK_BYTES

API_PREFIX = "/api/v1"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MB = 1024 * 1024


@dataclass(frozen=True)
class Limit:
    """The most bytes a route's body may have, and the setting that says so (named in the 413 with its value:
    an audio form's body may exceed it by the room its fields need, a number no admin set)."""

    max_bytes: int
    setting: str
    what: str
    setting_mb: float

    def message(self, got: int | None = None) -> str:
        size = f" (got {got} bytes)" if got is not None else ""
        return (f"request body too large: {self.what} may be at most {self.setting_mb:g} MB{size}; "
                f"the limit is QA_ENGINE_{self.setting.upper()}")


def _limit(mb: float, setting: str, what: str, slack_bytes: int = 0) -> Limit:
    return Limit(int(mb * MB) + slack_bytes, setting, what, mb)


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes its limit (FastAPI re-raises HTTP errors from reading)."""

    def __init__(self, limit: Limit) -> None:
        super().__init__(status_code=413, detail=limit.message())


def _content_type(scope: Scope) -> str:
    for key, value in scope.get("headers", ()):
        if key == b"content-type":
            return value.decode("latin-1").split(";")[0].strip().lower()
    return ""


def route_limit(settings: Settings, method: str, path: str, content_type: str) -> Limit:
    """The body limit for one request (by method, path and, for ``POST /calls``, content type)."""
    if method == "POST" and path.rstrip("/") == f"{API_PREFIX}/calls":
        if content_type == "multipart/form-data":
            return _limit(settings.max_upload_mb, "max_upload_mb", "an audio upload", FORM_SLACK_BYTES)
        return _limit(settings.max_transcript_body_mb, "max_transcript_body_mb", "a transcript")
    if method == "POST" and path.rstrip("/") in (f"{API_PREFIX}/packs", f"{API_PREFIX}/packs/validate"):
        return _limit(settings.max_pack_body_mb, "max_pack_body_mb", "a rule pack")
    return _limit(settings.max_body_mb, "max_body_mb", "a request body")


def _has_credential(scope: Scope) -> bool:
    cookie_prefix = f"{login_cookie.COOKIE}=".encode()
    for key, value in scope.get("headers", ()):
        if key == b"authorization" and value.strip():
            return True
        if key == b"cookie" and any(part.strip().startswith(cookie_prefix) for part in value.split(b";")):
            return True
    return False


def _declared_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimits:
    """ASGI middleware: see the module docstring. ``settings`` is read per request from ``app.state``."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method", "GET") not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope.get("path", "")
        declared = _declared_length(scope)
        if path.startswith(f"{API_PREFIX}/") and not _has_credential(scope) and declared != 0:
            await JSONResponse({"detail": "missing API key: send the header 'Authorization: Bearer KEY' "
                                          "(create a key with 'qa-engine users create NAME --role ROLE')"},
                               status_code=401, headers={"WWW-Authenticate": "Bearer", "Connection": "close"}
                               )(scope, receive, send)
            return
        limit = route_limit(self.settings, method, path, _content_type(scope))
        if declared is not None and declared > limit.max_bytes:
            await JSONResponse({"detail": limit.message(declared)}, status_code=413,
                               headers={"Connection": "close"})(scope, receive, send)
            return
        seen = 0
        noting_send = NotingSend(send)

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit.max_bytes:
                    raise BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, counted_receive, noting_send)
        except BodyTooLarge as exc:  # read outside FastAPI's handlers (e.g. by another middleware)
            if noting_send.started:
                raise
            await JSONResponse({"detail": exc.detail}, status_code=413,
                               headers={"Connection": "close"})(scope, receive, send)


def install(app: ASGIApp, settings: Settings) -> None:
    """Add the middleware (call after the other middlewares: it then runs first, before anything reads)."""
    app.add_middleware(BodyLimits, settings=settings)  # type: ignore[attr-defined]
