"""Scale-out on Ray Data: a CPU stage runs the pipeline (decode, VAD, rules) and ASR actors hold the model.

Shape: ``from_items(tasks).map(RayCallScorer)`` is the CPU stage (a pool of CPU actors, each with the
unchanged :class:`~qa_engine.pipeline.Pipeline`); its recognizer is a proxy that sends a call's speech
regions to one of the ASR actors (one per GPU, each holding the model; CPU actors when the cluster has no
GPU). An ASR actor serves many CPU workers at once and merges their calls into one batch. The driver
claims the files and writes the results, so only the driver talks to the database (writes stay
idempotent: a result is stored only on a row this run still holds). Workers read the audio by absolute
path (a worker's current directory is not the driver's): on a cluster the archive must be on storage every
node mounts at the same path.
"""

from __future__ import annotations

import itertools
import logging
import os
import pickle
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from qa_engine.app.batch.tasks import CallScorer, ScoreResult, ScoreTask
from qa_engine.asr import Recognizer
from qa_engine.asr_batching import AsrBatcher, ProxyRecognizer, serve_request
from qa_engine.errors import QaEngineError
from qa_engine.pipeline import PipelineOptions

logger = logging.getLogger(__name__)


def connect_hint(address: str | None, env: Mapping[str, str]) -> str:
    """What to try when joining a cluster failed: Ray sends its auth token only to a cluster it found itself.

    ``ray start`` turns token authentication on when a token exists (~/.ray/auth_token), but a driver given
    an explicit address (``--address host:port`` or ``RAY_ADDRESS``) does not, unless ``RAY_AUTH_MODE=token``.
    """
    explicit = (address or env.get("RAY_ADDRESS") or "auto") != "auto"
    if not explicit or env.get("RAY_AUTH_MODE"):
        return ""
    return (" (if the cluster uses token authentication, as `ray start` does when ~/.ray/auth_token exists, "
            "set RAY_AUTH_MODE=token with the cluster's token in ~/.ray/auth_token, RAY_AUTH_TOKEN_PATH or "
            "RAY_AUTH_TOKEN; or use --address auto on a node of the cluster)")


def _absolute(task: ScoreTask) -> ScoreTask:
    return replace(task, path=str(Path(task.path).absolute()))


class AsrActor:
    """Holds the model (loaded once) and batches the recognition requests of every CPU worker."""

    def __init__(self, options: PipelineOptions, max_wait_s: float) -> None:
        recognizer = Recognizer(options.asr)
        self.batcher = AsrBatcher(recognizer, max_wait_s=max_wait_s)

    def request(self, kind: str, payload: Any) -> Any:
        return serve_request(self.batcher, kind, payload).result()

    def stats(self) -> dict[str, int]:
        return {"batches": self.batcher.batches, "requests": self.batcher.requests}


class RayCallScorer:
    """The CPU stage: one pipeline per worker, ASR through the actors (round-robin)."""

    def __init__(self, options: PipelineOptions, actors: list[Any]) -> None:
        import ray

        cycle = itertools.cycle(actors)

        def send(kind: str, payload: Any) -> Any:
            return ray.get(next(cycle).request.remote(kind, payload))

        self.scorer = CallScorer(options, ProxyRecognizer(options.asr, send))

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        task: ScoreTask = pickle.loads(row["task"])
        return {"result": pickle.dumps(self.scorer.score(task))}


class RayExecutor:
    """Runs tasks on a Ray cluster: ``address`` None joins ``RAY_ADDRESS`` or starts a local instance."""

    def __init__(self, options: PipelineOptions, *, address: str | None = None, cpu_workers: int | None = None,
                 asr_actors: int | None = None) -> None:
        self.options = options
        self.address = address
        self.cpu_workers = cpu_workers
        self.asr_actors = asr_actors
        self.stats: list[dict[str, int]] = []

    def run(self, tasks: Iterable[ScoreTask]) -> Iterator[ScoreResult]:
        try:
            import ray
            import ray.data
        except ImportError:
            raise QaEngineError("--engine ray needs Ray: pip install 'qa-engine[ray]' (ray[data])") from None
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = self.address or os.environ.get("RAY_ADDRESS") or "a new local instance"
                raise QaEngineError(f"cannot connect to Ray at {where}: {exc}"
                                    f"{connect_hint(self.address, os.environ)}") from None
        # the driver claims everything up front
        items = [{"task": pickle.dumps(_absolute(t))} for t in tasks]
        if not items:
            return
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        cpus = int(resources.get("CPU", 1))
        n_actors = gpus or self.asr_actors or 1
        actor_cls: Any = ray.remote(AsrActor)
        placement = {"num_gpus": 1, "num_cpus": 1} if gpus else {"num_cpus": 1}
        wait_s = 0.05 if gpus else 0.0
        actors: list[Any] = [actor_cls.options(max_concurrency=64, **placement).remote(self.options, wait_s)
                             for _ in range(n_actors)]
        free_cpus = max(1, cpus - n_actors)
        workers = max(1, min(self.cpu_workers or free_cpus, free_cpus, len(items)))
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        scorer_cls: Any = RayCallScorer
        ds = ray.data.from_items(items).map(scorer_cls, fn_constructor_kwargs={"options": self.options,
                                                                                    "actors": actors},
                                            concurrency=workers, num_cpus=1)
        logger.info("Ray: %d ASR actor(s) on %s, %d CPU worker(s)", n_actors, "GPU" if gpus else "CPU", workers)
        try:
            for row in ds.iter_rows():
                yield pickle.loads(row["result"])
            self.stats = ray.get([a.stats.remote() for a in actors])
        finally:
            for actor in actors:
                ray.kill(actor)
