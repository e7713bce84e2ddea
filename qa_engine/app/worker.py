"""The worker loop: claim a job, run it (ASR + rules for ``score_audio``, ``rescore``), store the outcome.

The same loop runs in threads inside ``qa-engine serve`` and ``qa-engine worker``. The speech model is
loaded once per process, on the first audio job, and shared by the process's workers; on a GPU their
calls' speech is decoded in shared batches (see :class:`PipelineProvider`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from qa_engine.app import jobs
from qa_engine.app.audio_redaction import AudioRedaction, discard_original, remove_call_audio
from qa_engine.app.errors import Conflict
from qa_engine.app.metrics import observe_job
from qa_engine.app.models import Call, Job, utcnow
from qa_engine.app.pack_cache import PackCache
from qa_engine.app.retention import PURGE_EVERY_S, PurgeSummary, RetentionPolicy, purge_if_due
from qa_engine.app.score_call import score_call
from qa_engine.app.settings import Settings
from qa_engine.asr_batching import AsrBatcher, BatchedRecognizer, on_gpu
from qa_engine.errors import AudioError, QaEngineError
from qa_engine.pipeline import Pipeline, pipeline_options

logger = logging.getLogger(__name__)

PipelineSource = Pipeline | Callable[[], Pipeline]
#: how often a worker asks whether the hourly purge is due (the database decides; see retention.purge_if_due)
PURGE_RETRY_S = 300.0


def pipeline_from_settings(settings: Settings) -> Pipeline:
    """The speech pipeline the settings describe (model, device, compute type, threads, diarization…)."""
    return Pipeline(pipeline_options(settings.pipeline_settings()))


def check_device(settings: Settings) -> None:
    """Refuse to start when CUDA is asked for and none is visible: one clear error now, not failed calls later
    (the model is loaded on the first audio job)."""
    if settings.device != "cuda":
        return
    from qa_engine.asr import resolve_device
    from qa_engine.errors import ModelError

    try:
        resolve_device("cuda", settings.compute_type or "auto")
    except ModelError:
        raise ModelError("QA_ENGINE_DEVICE=cuda, but no CUDA device is available: check the NVIDIA driver "
                         "(nvidia-smi) and, in Docker, run with --gpus all; or set QA_ENGINE_DEVICE=auto or cpu"
                         ) from None


class PipelineProvider:
    """One speech pipeline per process, built on first use (loading Whisper takes seconds and memory).

    ``concurrency`` is how many calls the process scores at once (default: ``settings.workers``). When that is
    more than one and the model sits on a GPU (``asr_batching=auto``; ``on`` forces it), the pipeline's
    recognizer hands each call's speech to one :class:`AsrBatcher`: the VAD chunks of the calls in flight are
    decoded together, which is what fills a GPU (one call rarely fills a batch). On CPU nothing changes.
    """

    def __init__(self, settings: Settings, source: PipelineSource | None = None, *,
                 concurrency: int | None = None) -> None:
        self._factory: Callable[[], Pipeline]
        if isinstance(source, Pipeline):
            ready = source
            self._factory = lambda: ready
        else:
            self._factory = source or (lambda: pipeline_from_settings(settings))
        self.settings = settings
        self.concurrency = settings.workers if concurrency is None else concurrency
        self.batcher: AsrBatcher | None = None
        self._pipeline: Pipeline | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._pipeline is not None

    def get(self) -> Pipeline:
        with self._lock:
            if self._pipeline is None:
                self._pipeline = self._with_batching(self._factory())
            return self._pipeline

    def close(self) -> None:
        """Stop the batcher's thread (the pipeline is built again, with a new one, on the next ``get``)."""
        with self._lock:
            if self.batcher is not None:
                self.batcher.close()
                self.batcher = None
                self._pipeline = None

    def _with_batching(self, pipeline: Pipeline) -> Pipeline:
        mode = self.settings.asr_batching
        if mode == "off" or isinstance(pipeline.recognizer, BatchedRecognizer):
            return pipeline
        if mode == "auto" and (self.concurrency < 2 or not on_gpu(pipeline.recognizer)):
            return pipeline
        self.batcher = AsrBatcher(pipeline.recognizer, max_wait_s=self.settings.asr_batch_wait_ms / 1000)
        logger.info("ASR batched across calls: up to %d calls at once share one model (batch size %d)",
                    self.concurrency, pipeline.recognizer.options.batch_size)
        return Pipeline(pipeline.options, recognizer=BatchedRecognizer(self.batcher), hook=pipeline.hook)


class _Heartbeat:
    """Refreshes a running job's heartbeat from a side thread, so long ASR runs are not taken for dead."""

    def __init__(self, session_factory: sessionmaker[Session], job_id: int, worker: str, every_s: float) -> None:
        self._args = (session_factory, job_id, worker)
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id}", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        session_factory, job_id, worker = self._args
        while not self._stop.wait(self._every_s):
            try:
                with session_factory() as session:
                    jobs.heartbeat(session, job_id, worker)
            except Exception:  # a missed beat is harmless; the next one retries
                logger.warning("heartbeat for job %s failed", job_id, exc_info=True)


class Worker:
    """Runs queued jobs one at a time; ``run_once`` makes tests deterministic, ``run_forever`` serves."""

    def __init__(self, session_factory: sessionmaker[Session], settings: Settings, pack_cache: PackCache,
                 pipelines: PipelineProvider, *, name: str | None = None, heartbeat_s: float = jobs.HEARTBEAT_S,
                 stale_after_s: float = jobs.STALE_AFTER_S, poll_s: float = 2.0,
                 purge_every_s: float = PURGE_EVERY_S) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.pack_cache = pack_cache
        self.pipelines = pipelines
        self.name = name or jobs.worker_name()
        self.heartbeat_s = heartbeat_s
        self.stale_after_s = stale_after_s
        self.poll_s = poll_s
        self.purge_every_s = purge_every_s

    # -- loop ------------------------------------------------------------------------------
    def recover(self) -> tuple[int, int]:
        """Queue again the jobs a dead worker left running (see :func:`qa_engine.app.jobs.recover_interrupted`)."""
        with self.session_factory() as session:
            return jobs.recover_interrupted(session, stale_after_s=self.stale_after_s)

    def run_once(self) -> bool:
        """Claim and run one job; False when the queue was empty."""
        with self.session_factory() as session:
            job = jobs.claim_next(session, self.name)
            if job is None:
                return False
            started = time.perf_counter()
            logger.info("worker %s runs job %s (%s, call %s, attempt %s)", self.name, job.id, job.kind,
                        job.call_pk, job.attempts)
            with _Heartbeat(self.session_factory, job.id, self.name, self.heartbeat_s):
                status = self._run(session, job)
            observe_job(job.kind, status, time.perf_counter() - started)
            return True

    def drain(self) -> int:
        """Run jobs until the queue is empty; returns how many ran."""
        count = 0
        while self.run_once():
            count += 1
        return count

    def purge_if_due(self) -> PurgeSummary | None:
        """Apply the retention policy when it is on and no worker did in the last ``purge_every_s`` seconds."""
        with self.session_factory() as session:
            return purge_if_due(session, RetentionPolicy.from_settings(self.settings), every_s=self.purge_every_s)

    def run_forever(self, stop: threading.Event, wake: threading.Event | None = None) -> None:
        """Serve until ``stop`` is set; ``wake`` (set on upload) cuts the wait for new work short. The retention
        policy, when on, is applied on start and then every ``purge_every_s`` (by one worker of all)."""
        self._safely(self.recover)
        last_recovery = time.monotonic()
        next_purge = time.monotonic()
        while not stop.is_set():
            if wake is not None:
                wake.clear()
            worked = self._safely(self.run_once)
            if time.monotonic() - last_recovery > self.stale_after_s / 2:
                self._safely(self.recover)
                last_recovery = time.monotonic()
            if time.monotonic() >= next_purge:
                self._safely(self.purge_if_due)
                next_purge = time.monotonic() + min(self.purge_every_s, PURGE_RETRY_S)
            if not worked:
                (wake or stop).wait(self.poll_s)

    def _safely(self, step: Callable[[], Any]) -> Any:
        try:
            return step()
        except Exception:  # the loop must outlive a database hiccup
            logger.exception("worker %s: step failed; retrying in %.0f s", self.name, self.poll_s)
            time.sleep(self.poll_s)
            return None

    # -- jobs ------------------------------------------------------------------------------
    def _run(self, session: Session, job: Job) -> str:
        job_id, kind, call_pk = job.id, job.kind, job.call_pk
        try:
            if kind == "score_audio":
                return self._score_audio(session, job)
            if kind == "rescore":
                from qa_engine.app.rescore import run_rescore_job

                result = run_rescore_job(session, self.pack_cache, job)
                jobs.finish(job, "done", result=result)
                session.commit()
                return "done"
            raise QaEngineError(f"unknown job kind {kind!r}")
        except QaEngineError as exc:
            reason = exc.reason if isinstance(exc, AudioError) else str(exc)
            logger.info("job %s (%s) failed: %s", job_id, kind, exc)
        except Exception as exc:
            logger.exception("job %s (%s) failed unexpectedly", job_id, kind)
            reason = f"internal error while processing: {type(exc).__name__}: {exc}".splitlines()[0]
        session.rollback()
        failed = session.get(Job, job_id)
        if failed is not None:
            jobs.finish(failed, "failed", error=reason)
        call = session.get(Call, call_pk, populate_existing=True) if call_pk and kind == "score_audio" else None
        if call is not None:
            call.status, call.error, call.updated_at = "failed", reason, utcnow()
        session.commit()
        return "failed"

    def _score_audio(self, session: Session, job: Job) -> str:
        call = session.get(Call, job.call_pk) if job.call_pk else None
        if call is None or not call.audio_path:
            jobs.finish(job, "failed", error="the call was deleted before it was processed")
            session.commit()
            return "failed"
        call_pk, audio_path = call.id, call.audio_path
        try:
            discard = self._score_and_commit(session, job, call)
        except Exception:
            if not jobs.call_was_deleted(session, call_pk):
                raise
            remove_call_audio(session, audio_path)  # a redacted copy the job wrote after the delete removed the rest
            raise Conflict(jobs.CALL_DELETED) from None
        discard_original(session, discard)  # the unredacted recording, once the redacted one is committed
        return "done"

    def _score_and_commit(self, session: Session, job: Job, call: Call) -> str | None:
        """Score ``call``, store its report and finish ``job`` (committed); returns the original to discard."""
        call.status, call.updated_at = "processing", utcnow()
        session.commit()
        outcome = score_call(session, call, pack_cache=self.pack_cache, pipeline=self.pipelines.get,
                             pack_given=bool((job.payload or {}).get("pack_given")),
                             keep_raw=self.settings.keep_raw_transcripts,
                             max_duration_s=self.settings.max_audio_duration_s,
                             max_decoded_mb=self.settings.max_decoded_mb,
                             rules_time_limit_s=self.settings.rules_time_limit_s,
                             audio_redaction=AudioRedaction.from_settings(self.settings))
        jobs.finish(job, "done", result=outcome.job_result())
        session.commit()
        return outcome.discard
