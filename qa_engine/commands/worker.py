"""``qa-engine worker``: process queued calls (ASR + scoring) next to, or instead of, the workers in ``serve``."""

from __future__ import annotations

import argparse
import functools
import logging
import signal
import threading
from collections.abc import Callable
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
    p.add_argument("--concurrency", type=int, default=None, metavar="N",
                   help="calls scored at once, by threads sharing the one model (default: "
                        "$QA_ENGINE_WORKER_CONCURRENCY or 1); on a GPU their speech is decoded in shared batches")
    p.add_argument("--batch-size", type=int, default=None, metavar="N",
                   help="speech windows decoded per batch (default: $QA_ENGINE_BATCH_SIZE or 16)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from qa_engine.app.database import make_engine, make_session_factory
    from qa_engine.app.jobs import worker_name
    from qa_engine.app.local_time import TIMEZONE_KEY
    from qa_engine.app.logging_config import configure_logging
    from qa_engine.app.migrate import upgrade
    from qa_engine.app.pack_cache import PackCache
    from qa_engine.app.secret_key import load_secret_key
    from qa_engine.app.settings import load_settings
    from qa_engine.app.worker import PipelineProvider, Worker, check_device

    from ..errors import QaEngineError

    if args.poll <= 0:
        raise QaEngineError(f"--poll must be a positive number of seconds, got {args.poll}")
    if args.concurrency is not None and not 1 <= args.concurrency <= 64:
        raise QaEngineError(f"--concurrency must be between 1 and 64, got {args.concurrency}")
    if args.batch_size is not None and not 1 <= args.batch_size <= 512:
        raise QaEngineError(f"--batch-size must be between 1 and 512, got {args.batch_size}")
    settings = load_settings(args.data_dir, args.db)
    if args.batch_size is not None:
        settings = settings.model_copy(update={"batch_size": args.batch_size})
    concurrency = args.concurrency or settings.worker_concurrency
    load_secret_key(settings)  # the same key as 'serve' (created here if the worker starts first)
    check_device(settings)
    configure_logging(settings.log_format, "INFO")
    db_engine = make_engine(settings.database_url)
    pipelines = PipelineProvider(settings, concurrency=concurrency)
    try:
        upgrade(db_engine)
        sessions = make_session_factory(db_engine)
        sessions.configure(info={TIMEZONE_KEY: settings.zone})  # sampling quotas count the call centre's days
        pack_cache = PackCache()
        workers = [Worker(sessions, settings, pack_cache, pipelines, poll_s=args.poll, name=worker_name(i))
                   for i in range(concurrency)]
        requeued, failed = workers[0].recover()
        if requeued or failed:
            logger.warning("resumed %d interrupted job(s); %d failed after too many attempts", requeued, failed)
        if args.once:
            counts = _in_threads([w.drain for w in workers])
            logger.info("processed %d job(s)", sum(counts))
            return 0
        stop = threading.Event()

        def _stop(_signum: int, _frame: Any) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        logger.info("worker %s waiting for jobs (%d call(s) at once)", workers[0].name, concurrency)
        _in_threads([functools.partial(w.run_forever, stop) for w in workers])
    finally:
        pipelines.close()
        db_engine.dispose()
    return 0


def _in_threads(steps: list[Callable[[], Any]]) -> list[Any]:
    """Run the steps at once (one thread each; the first in this thread) and return their results."""
    results: list[Any] = [None] * len(steps)

    def call(i: int) -> None:
        results[i] = steps[i]()

    threads = [threading.Thread(target=call, args=(i,), name=f"qa-worker-{i}", daemon=True)
               for i in range(1, len(steps))]
    for t in threads:
        t.start()
    call(0)
    for t in threads:
        t.join()
    return results


__all__ = ["register", "run"]
