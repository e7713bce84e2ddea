"""One machine: decode, VAD and rules in CPU worker processes, ASR in this process with the model loaded once.

Why this shape: decoding and VAD of the next calls overlap with Whisper on the current ones, and the
regions of every call waiting for ASR are decoded together (:class:`AsrBatcher`), which is what fills
a GPU. Workers are started with ``spawn`` (never ``fork`` after a model with threads is loaded). A worker
that dies (out of memory, a crash in a decoder) fails only the file it held and is replaced. A worker dies with
its parent (:func:`die_with_parent`): a killed ``qa-engine batch`` leaves no orphan behind.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing as mp
import os
import pickle
import queue
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

from qa_engine.app.batch.tasks import CallScorer, ScoreResult, ScoreTask
from qa_engine.asr import Recognizer
from qa_engine.asr_batching import AsrBatcher, ProxyRecognizer, on_gpu, serve_request
from qa_engine.pipeline import PipelineOptions

logger = logging.getLogger(__name__)


class AsrUnavailable(RuntimeError):
    """The ASR side answered with an error (the model failed on this call's batch)."""


PR_SET_PDEATHSIG = 1
PARENT_CHECK_S = 0.5


def die_with_parent(parent_pid: int) -> None:
    """End this process when ``parent_pid`` ends, even by SIGKILL (no orphaned workers holding memory or files).

    On Linux the kernel sends SIGKILL at once (``PR_SET_PDEATHSIG``); everywhere, a watchdog thread notices that
    the parent changed (``os.getppid()``) within :data:`PARENT_CHECK_S` and exits.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the watchdog below still works
            logger.debug("prctl(PR_SET_PDEATHSIG) unavailable", exc_info=True)
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(PARENT_CHECK_S)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _worker_main(worker: int, options: PipelineOptions, tasks: Any, results: Any, requests: Any,
                 answers: Any, parent_pid: int | None = None) -> None:
    """A CPU worker: runs the pipeline on each task; ASR requests go to the parent's batcher."""
    if parent_pid is not None:
        die_with_parent(parent_pid)
    counter = itertools.count()

    def send(kind: str, payload: Any) -> Any:
        rid = next(counter)
        requests.put((worker, rid, kind, payload))
        while True:
            got, ok, value = answers.get()
            if got == rid:
                break
        if not ok:
            raise AsrUnavailable(value)
        return value

    scorer = CallScorer(options, ProxyRecognizer(options.asr, send))
    while True:
        payload = tasks.get()
        if payload is None:
            return
        task = pickle.loads(payload)
        results.put(("start", worker, task.pk))
        results.put(("done", worker, pickle.dumps(scorer.score(task))))  # raises here (the worker dies, is reaped)


class LocalExecutor:
    """Scores tasks with ``workers`` CPU processes around one loaded model."""

    def __init__(self, options: PipelineOptions, workers: int = 2, *, recognizer: Recognizer | None = None,
                 max_wait_s: float | None = None) -> None:
        self.options = options
        self.workers = max(1, workers)
        self.recognizer = recognizer
        self.max_wait_s = max_wait_s
        self.batcher: AsrBatcher | None = None

    def run(self, tasks: Iterable[ScoreTask]) -> Iterator[ScoreResult]:
        """Results in completion order; tasks are pulled only when a worker can take them (lazy claims)."""
        ctx = mp.get_context("spawn")
        task_q: Any = ctx.Queue()
        result_q: Any = ctx.Queue()
        request_q: Any = ctx.Queue()
        answer_qs: list[Any] = [ctx.Queue() for _ in range(self.workers)]
        procs: dict[int, Any] = {}

        def start(w: int) -> None:
            p = ctx.Process(target=_worker_main, name=f"qa-batch-worker-{w}", daemon=True,
                            args=(w, self.options, task_q, result_q, request_q, answer_qs[w], os.getpid()))
            p.start()
            procs[w] = p

        for w in range(self.workers):
            start(w)
        recognizer = self.recognizer or Recognizer(self.options.asr)
        max_wait = self.max_wait_s
        if max_wait is None:
            max_wait = 0.05 if on_gpu(recognizer) else 0.0
        self.batcher = batcher = AsrBatcher(recognizer, max_wait_s=max_wait)
        pump = threading.Thread(target=self._pump, args=(batcher, request_q, answer_qs), daemon=True)
        pump.start()
        source = iter(tasks)
        holding: dict[int, str] = {}
        in_flight = 0
        capacity = self.workers + 1
        exhausted = False
        try:
            while True:
                while not exhausted and in_flight < capacity:
                    task = next(source, None)
                    if task is None:
                        exhausted = True
                        break
                    # pickled here, not in the queue's feeder thread: there an unpicklable task is dropped with a
                    # message on stderr and the batch waits for it forever; here it raises
                    task_q.put(pickle.dumps(task))
                    in_flight += 1
                if in_flight == 0:
                    return
                try:
                    kind, w, value = result_q.get(timeout=1.0)
                except queue.Empty:
                    for dead in self._reap(procs, holding, start):
                        in_flight -= 1
                        yield dead
                    continue
                if kind == "start":
                    holding[w] = value
                else:
                    holding.pop(w, None)
                    in_flight -= 1
                    yield pickle.loads(value)
        finally:
            for _ in procs:
                task_q.put(None)
            for p in procs.values():
                p.join(timeout=10)
                if p.is_alive():
                    p.kill()
            request_q.put(None)
            pump.join(timeout=10)
            batcher.close()

    @staticmethod
    def _reap(procs: dict[int, Any], holding: dict[int, str], start: Any) -> list[ScoreResult]:
        """Workers that died: fail the file each held, start a replacement."""
        failed = []
        for w, p in list(procs.items()):
            if p.is_alive():
                continue
            pk = holding.pop(w, None)
            logger.warning("worker %d died (exit code %s); starting another", w, p.exitcode)
            if pk is not None:
                failed.append(ScoreResult(pk, error=f"the worker process died while scoring this file "
                                                    f"(exit code {p.exitcode}: out of memory or a decoder crash)"))
            start(w)
        return failed

    @staticmethod
    def _pump(batcher: AsrBatcher, request_q: Any, answer_qs: list[Any]) -> None:
        """Move ASR requests from the workers to the batcher and the words back."""
        while True:
            item = request_q.get()
            if item is None:
                return
            w, rid, kind, payload = item

            def reply(future: Any, w: int = w, rid: int = rid) -> None:
                exc = future.exception()
                answer = (rid, False, f"{type(exc).__name__}: {exc}") if exc else (rid, True, future.result())
                answer_qs[w].put(answer)

            serve_request(batcher, kind, payload).add_done_callback(reply)
