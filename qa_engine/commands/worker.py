"""``qa-engine worker``: process queued calls (ASR + scoring) next to, or instead of, the workers in ``serve``."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import Any

from .users import add_database_args

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("worker", help="process queued jobs (audio calls, re-scoring)",
                              description="Run one job worker on the service database: it loads the speech model "
                                          "once (on the first audio job) and processes queued calls until stopped. "
                                          "Jobs left running by a crashed worker are resumed.")
    add_database_args(p)
    p.add_argument("--once", action="store_true", help="process every queued job, then exit")
    p.add_argument("--poll", type=float, default=2.0, metavar="SECONDS",
                   help="how often an idle worker looks for new jobs (default: 2)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from api.db import make_engine, make_session_factory
    from api.engine import ScoringEngine
    from api.logging_config import configure_logging
    from api.migrate import upgrade
    from api.settings import load_settings
    from api.worker import PipelineProvider, Worker

    from ..errors import QaEngineError

    if args.poll <= 0:
        raise QaEngineError(f"--poll must be a positive number of seconds, got {args.poll}")
    settings = load_settings(args.data_dir, args.db)
    configure_logging(settings.log_format, "INFO")
    db_engine = make_engine(settings.database_url)
    try:
        upgrade(db_engine)
        worker = Worker(make_session_factory(db_engine), settings, ScoringEngine(), PipelineProvider(settings),
                        poll_s=args.poll)
        requeued, failed = worker.recover()
        if requeued or failed:
            logger.warning("resumed %d interrupted job(s); %d failed after too many attempts", requeued, failed)
        if args.once:
            count = worker.drain()
            logger.info("processed %d job(s)", count)
            return 0
        stop = threading.Event()

        def _stop(_signum: int, _frame: Any) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        logger.info("worker %s waiting for jobs", worker.name)
        worker.run_forever(stop)
    finally:
        db_engine.dispose()
    return 0


__all__ = ["register", "run"]
