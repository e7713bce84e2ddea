"""Probes and metrics at the root, where orchestrators look: ``/healthz``, ``/readyz``, ``/metrics``.

None needs an API key: they reveal no call data (counts and timings only).
"""

from __future__ import annotations

import logging
from functools import lru_cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from qa_engine import __version__
from qa_engine.app.metrics import refresh_queue_gauges
from qa_engine.app.migrate import alembic_config

router = APIRouter(tags=["ops"])
logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest migration shipped with this version of the service."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def not_ready_reason(engine: Engine) -> str | None:
    """Why the service cannot serve requests (database down or not migrated), or None when it can."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        return f"database unavailable: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    head = head_revision()
    if current != head:
        return f"database schema at revision {current or 'none'}, expected {head} (run 'qa-engine db upgrade')"
    return None


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
    try:
        with request.app.state.session_factory() as session:
            refresh_queue_gauges(session)
    except SQLAlchemyError as exc:  # still serve the process metrics; readyz reports the database
        logger.warning("metrics: queue depths not refreshed: %s", exc)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
