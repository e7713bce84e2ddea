"""Probes and metrics at the root, where orchestrators look: ``/healthz``, ``/readyz``, ``/metrics``.

None needs an API key: they reveal no call data (counts and timings only).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from qa_engine import __version__
from qa_engine.app.probes import not_ready_reason, refresh_queue_depths

router = APIRouter(tags=["ops"])
logger = logging.getLogger(__name__)


@router.get("/healthz", responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}})
def healthz() -> dict[str, str]:
    """Liveness: the process answers (the database is not touched)."""
    return {"status": "ok", "version": __version__}


@router.get("/readyz", responses={503: {"description": "not ready; `reason` says why"}})
def readyz(request: Request) -> JSONResponse:
    """Readiness: the database answers and its schema is at the migration head."""
    reason = not_ready_reason(request.app.state.db_engine)
    if reason is not None:
        logger.warning("not ready: %s", reason)
        return JSONResponse({"status": "unavailable", "reason": reason},
                            status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
    return JSONResponse({"status": "ok"})


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}})
def metrics(request: Request) -> Response:
    """Prometheus metrics: HTTP requests, jobs finished and their latency, queue depths (read now)."""
    refresh_queue_depths(request.app.state.session_factory)  # on failure still the process metrics
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
