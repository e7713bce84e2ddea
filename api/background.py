"""Background services of ``serve``: job workers and the webhook dispatcher (started in the app's lifespan)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from fastapi import FastAPI

from qa_engine.app.jobs import worker_name
from qa_engine.app.worker import Worker

logger = logging.getLogger(__name__)
STOP_TIMEOUT_S = 10.0


def make_worker(app: FastAPI, index: int = 0, **options: Any) -> Worker:
    """A worker over the app's database, scoring engine and (shared, lazily loaded) speech pipeline."""
    state = app.state
    return Worker(state.session_factory, state.settings, state.pack_cache, state.pipelines,
                  name=worker_name(index), **options)


def wake_workers(app: FastAPI) -> None:
    """Tell idle workers that a job was queued (they also poll, so this only saves latency)."""
    event: threading.Event | None = getattr(app.state, "job_wakeup", None)
    if event is not None:
        event.set()


def start(app: FastAPI) -> None:
    """Start ``settings.workers`` worker threads and the webhook dispatcher."""
    state = app.state
    state.job_wakeup = threading.Event()
    state.stop_workers = threading.Event()
    threads: list[threading.Thread] = []
    for index in range(state.settings.workers):
        worker = make_worker(app, index)
        thread = threading.Thread(target=worker.run_forever, args=(state.stop_workers, state.job_wakeup),
                                  name=f"qa-worker-{index}", daemon=True)
        thread.start()
        threads.append(thread)
    state.worker_threads = threads
    from qa_engine.app.webhooks import WebhookDispatcher  # imported late: the dispatcher pulls in the HTTP client

    dispatcher = WebhookDispatcher(state.session_factory, state.settings)
    dispatcher.start()
    state.webhook_dispatcher = dispatcher
    state.background = [*threads, *([dispatcher] if dispatcher else [])]
    if threads:
        logger.info("started %d job worker(s)", len(threads))


def stop(app: FastAPI) -> None:
    """Stop what :func:`start` started; a job in the middle of ASR is left to be resumed after restart."""
    state = app.state
    stop_event: threading.Event | None = getattr(state, "stop_workers", None)
    if stop_event is not None:
        stop_event.set()
        state.job_wakeup.set()
    for thread in getattr(state, "worker_threads", []):
        thread.join(timeout=STOP_TIMEOUT_S)
        if thread.is_alive():
            logger.warning("%s is still running a job; it will be resumed on the next start", thread.name)
    dispatcher = getattr(state, "webhook_dispatcher", None)
    if dispatcher is not None:
        dispatcher.stop()
    state.worker_threads = []
    state.webhook_dispatcher = None
    pipelines = getattr(state, "pipelines", None)
    if pipelines is not None:
        pipelines.close()  # the cross-call ASR batcher's thread, when there is one
    state.background = []
