"""The application factory: ``create_app(settings)`` opens the database, migrates it and mounts the routers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from qa_engine import __version__
from qa_engine.app.database import make_engine, make_session_factory
from qa_engine.app.local_time import TIMEZONE_KEY
from qa_engine.app.migrate import upgrade
from qa_engine.app.pack_cache import PackCache
from qa_engine.app.review_queue import LOW_SCORE_KEY
from qa_engine.app.secret_key import load_secret_key
from qa_engine.app.settings import Settings, load_settings
from qa_engine.app.sign_in import SignInLimiter
from qa_engine.app.worker import PipelineProvider, PipelineSource

from . import audiohook, background, body_limits, errors, metrics, security_headers
from .routers import agents as agents_router
from .routers import calibration as calibration_router
from .routers import calls, health, jobs, ops, packs, reviews, scorecards, webhooks
from .routers import coaching as coaching_router
from .routers import evaluations as evaluations_router
from .routers import review_queue as review_queue_router
from .routers import sampling_plans as sampling_plans_router
from .routers import search as search_router
from .routers import sentiment as sentiment_router
from .ui import routes as ui_routes

API_PREFIX = "/api/v1"
logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, migrate: bool = True,
               pipeline: PipelineSource | None = None) -> FastAPI:
    """Build the service: creates the data dir, runs migrations (unless ``migrate=False``), mounts routers.

    ``pipeline`` (a speech pipeline or a factory) replaces the one built from the settings on the first
    audio job; tests pass their session-wide pipeline so the model is loaded once.
    """
    settings = settings or load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    secret_key = load_secret_key(settings)  # QA_ENGINE_SECRET_KEY, else DATA_DIR/secret_key (created 0600, reused)
    db_engine = make_engine(settings.database_url)
    if migrate:
        upgrade(db_engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        background.start(app)
        try:
            yield
        finally:
            background.stop(app)
            db_engine.dispose()

    app = FastAPI(title="qa-engine", version=__version__, lifespan=lifespan,
                  openapi_url=f"{API_PREFIX}/openapi.json", docs_url=f"{API_PREFIX}/docs", redoc_url=None)
    app.state.settings = settings
    app.state.secret_key = secret_key
    app.state.sign_in_limiter = SignInLimiter.from_settings(settings)
    app.state.db_engine = db_engine
    app.state.session_factory = make_session_factory(db_engine)
    app.state.session_factory.configure(info={LOW_SCORE_KEY: settings.review_low_score,  # read when scoring
                                              TIMEZONE_KEY: settings.zone})  # the call centre's days and weeks
    app.state.pack_cache = PackCache()
    app.state.pipelines = PipelineProvider(settings, pipeline)
    metrics.install(app)
    errors.install(app)
    body_limits.install(app, settings)  # body size per route and a credential, before any body is read
    app.include_router(health.router, prefix=API_PREFIX)
    app.include_router(agents_router.router, prefix=API_PREFIX)  # /calls/export before /calls/{id}; /agents
    app.include_router(calls.router, prefix=API_PREFIX)
    app.include_router(coaching_router.router, prefix=API_PREFIX)  # /calls/{id}/comments, /coaching
    app.include_router(reviews.router, prefix=API_PREFIX)
    app.include_router(review_queue_router.router, prefix=API_PREFIX)  # /review-queue: the supervisor inbox
    app.include_router(sampling_plans_router.router, prefix=API_PREFIX)  # /sampling-plans (抽检)
    app.include_router(evaluations_router.router, prefix=API_PREFIX)  # /evaluation-forms, /calls/{id}/evaluations
    app.include_router(calibration_router.router, prefix=API_PREFIX)  # /calibration-sessions
    app.include_router(scorecards.router, prefix=API_PREFIX)
    app.include_router(packs.router, prefix=API_PREFIX)
    app.include_router(webhooks.router, prefix=API_PREFIX)
    app.include_router(jobs.router, prefix=API_PREFIX)
    app.include_router(search_router.router, prefix=API_PREFIX)  # /search: utterances across calls
    app.include_router(sentiment_router.router, prefix=API_PREFIX)  # /analytics/sentiment: dashboard card
    app.include_router(audiohook.router, prefix=API_PREFIX)  # /audiohook/ws (live tap) and /live (feed)
    app.include_router(ops.router)  # /healthz, /readyz, /metrics: at the root, where probes look
    app.include_router(ui_routes.router)  # the web UI: /ui/... (and / redirects there)
    security_headers.install(app)  # CSP, nosniff, frame and referrer policy (HSTS on TLS): outermost, on every answer
    logger.info("qa-engine service ready (mode=%s, db=%s)", settings.mode,
                db_engine.url.render_as_string(hide_password=True))
    return app
