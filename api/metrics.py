"""Prometheus metrics of the service (served at ``/metrics``) and the per-request access log.

Jobs report through :func:`observe_job`; queue depths are read from the database at scrape time
(:func:`refresh_queue_gauges`), so they are right even when workers run in other processes. HTTP requests are
counted by route template (``/api/v1/calls/{call_id}``, never the raw path) by the middleware :func:`install` adds.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import FastAPI
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .models import Job, WebhookDelivery

JOBS_FINISHED = Counter("qa_engine_jobs_finished_total", "Background jobs finished", ["kind", "status"])
JOB_SECONDS = Histogram("qa_engine_job_seconds", "Time to run one background job", ["kind"],
                        buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800))
JOBS_IN_QUEUE = Gauge("qa_engine_jobs", "Jobs waiting or running, read from the jobs table at scrape time",
                      ["kind", "status"])
WEBHOOKS_PENDING = Gauge("qa_engine_webhook_deliveries_pending", "Webhook deliveries not yet delivered or failed")
WEBHOOK_ATTEMPTS = Counter("qa_engine_webhook_attempts_total", "Webhook delivery attempts", ["event", "outcome"])
HTTP_REQUESTS = Counter("qa_engine_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
HTTP_SECONDS = Histogram("qa_engine_http_request_seconds", "Time to answer an HTTP request", ["method", "route"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))

KNOWN_JOB_KINDS = ("score_audio", "rescore")
OPEN_JOB_STATUSES = ("queued", "running")
UNMATCHED_ROUTE = "(unmatched)"
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})  # probes: access-logged at DEBUG only
access_logger = logging.getLogger("api.access")


def observe_job(kind: str, status: str, seconds: float) -> None:
    """Count a finished job (``status`` done/failed) and record how long it ran."""
    JOBS_FINISHED.labels(kind=kind, status=status).inc()
    JOB_SECONDS.labels(kind=kind).observe(seconds)


def refresh_queue_gauges(session: Session) -> None:
    """Set the queue gauges from the database (called by ``/metrics`` before it renders)."""
    counts = {(kind, status): 0 for kind in KNOWN_JOB_KINDS for status in OPEN_JOB_STATUSES}
    rows = session.execute(select(Job.kind, Job.status, func.count()).where(Job.status.in_(OPEN_JOB_STATUSES))
                           .group_by(Job.kind, Job.status))
    for kind, status, count in rows:
        counts[(kind, status)] = count
    JOBS_IN_QUEUE.clear()
    for (kind, status), count in counts.items():
        JOBS_IN_QUEUE.labels(kind=kind, status=status).set(count)
    pending = session.scalar(select(func.count()).select_from(WebhookDelivery)
                             .where(WebhookDelivery.status == "pending"))
    WEBHOOKS_PENDING.set(pending or 0)


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
