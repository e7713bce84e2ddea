"""Prometheus metrics of jobs and webhook deliveries (the service serves them at ``/metrics``).

Jobs report through :func:`observe_job`; queue depths are read from the database at scrape time
(:func:`refresh_queue_gauges`), so they are right even when workers run in other processes.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qa_engine.app.models import Job, WebhookDelivery

JOBS_FINISHED = Counter("qa_engine_jobs_finished_total", "Background jobs finished", ["kind", "status"])
JOB_SECONDS = Histogram("qa_engine_job_seconds", "Time to run one background job", ["kind"],
                        buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800))
JOBS_IN_QUEUE = Gauge("qa_engine_jobs", "Jobs waiting or running, read from the jobs table at scrape time",
                      ["kind", "status"])
WEBHOOKS_PENDING = Gauge("qa_engine_webhook_deliveries_pending", "Webhook deliveries not yet delivered or failed")
WEBHOOK_ATTEMPTS = Counter("qa_engine_webhook_attempts_total", "Webhook delivery attempts", ["event", "outcome"])
KNOWN_JOB_KINDS = ("score_audio", "rescore")
OPEN_JOB_STATUSES = ("queued", "running")


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
