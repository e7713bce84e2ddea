"""HTTP request metrics (by route template, never the raw path) and the per-request access log: ASGI middleware.

Job and webhook metrics live in :mod:`qa_engine.app.metrics`; all are served together at ``/metrics``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import FastAPI
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_REQUESTS = Counter("qa_engine_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
HTTP_SECONDS = Histogram("qa_engine_http_request_seconds", "Time to answer an HTTP request", ["method", "route"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))

UNMATCHED_ROUTE = "(unmatched)"
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})  # probes: access-logged at DEBUG only
access_logger = logging.getLogger("api.access")


def route_template(scope: Scope) -> str:
    """The matched route's path template; a fixed label for unmatched paths (no unbounded label values)."""
    # FastAPI >= 0.160 keeps included routers as they are: the route in the scope knows only its own path, the
    # "effective route context" has the full one (prefix included). Older versions copy routes with full paths.
    fastapi_scope = scope.get("fastapi")
    context = fastapi_scope.get("effective_route_context") if isinstance(fastapi_scope, dict) else None
    for path in (getattr(context, "path_format", None), getattr(scope.get("route"), "path", None)):
        if isinstance(path, str) and path:
            return path
    return UNMATCHED_ROUTE


class RequestMetrics:
    """ASGI middleware: request count and latency by route template and status, and one access-log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})  # shared with request.state, where authentication notes the user
        started = time.perf_counter()
        status_code = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            seconds = time.perf_counter() - started
            method, route = scope.get("method", ""), route_template(scope)
            HTTP_REQUESTS.labels(method=method, route=route, status=str(status_code)).inc()
            HTTP_SECONDS.labels(method=method, route=route).observe(seconds)
            _access_log(scope, method, route, status_code, seconds)


def _access_log(scope: Scope, method: str, route: str, status_code: int, seconds: float) -> None:
    level = logging.DEBUG if route in QUIET_ROUTES else logging.INFO
    if not access_logger.isEnabledFor(level):
        return
    state: Any = scope.get("state") or {}
    user = state.get("user_name") if isinstance(state, dict) else None
    client = scope.get("client")
    extra = {"method": method, "route": route, "path": scope.get("path", ""), "status": status_code,
             "duration_ms": round(seconds * 1000, 2), "user": user, "client": client[0] if client else None}
    access_logger.log(level, "%s %s %d %.1f ms", method, scope.get("path", ""), status_code, seconds * 1000,
                      extra=extra)


def install(app: FastAPI) -> None:
    """Add request metrics and the access log to ``app``."""
    app.add_middleware(RequestMetrics)
