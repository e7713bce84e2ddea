"""The unit of work an executor runs (a :class:`ScoreTask`) and what comes back (a :class:`ScoreResult`).

Executors (local processes, Ray) only move these between the database side (claims, writes) and
:class:`CallScorer`, which holds the pipelines of one worker. The pack travels with the task because
the service may have resolved it from the database (an uploaded version, a team's pack).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

from qa_engine.asr import Recognizer
from qa_engine.errors import QaEngineError
from qa_engine.pipeline import CallInput, Pipeline, PipelineOptions
from qa_engine.rules import Pack
from qa_engine.types import CallReport

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoreTask:
    """One claimed recording: ``pk`` is its row in ``calls``."""

    pk: str
    path: str
    call_id: str
    pack: Pack
    language: str | None = None
    agent_channel: int | None = None


@dataclass(frozen=True)
class ScoreResult:
    """A report, or the reason the file could not be scored (one line)."""

    pk: str
    report: CallReport | None = None
    error: str | None = None
    seconds: float = 0.0


class CallScorer:
    """Scores tasks with one recognizer (a real model, or a proxy to a shared one): one pipeline per language."""

    def __init__(self, options: PipelineOptions, recognizer: Recognizer) -> None:
        self.options = options
        self.recognizer = recognizer
        self._pipelines: dict[str | None, Pipeline] = {}

    def _pipeline(self, language: str | None) -> Pipeline:
        if language not in self._pipelines:
            opts = replace(self.options, language=language, pack=None)
            self._pipelines[language] = Pipeline(opts, recognizer=self.recognizer)
        return self._pipelines[language]

    def score(self, task: ScoreTask) -> ScoreResult:
        """Never raises for a bad file: the reason comes back in the result."""
        t0 = time.perf_counter()
        language = task.language or task.pack.language
        try:
            report = self._pipeline(language).score(
                CallInput(task.path, call_id=task.call_id, agent_channel=task.agent_channel, language=language),
                pack=task.pack)
        except QaEngineError as exc:
            return ScoreResult(task.pk, error=str(exc), seconds=time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001 - a bad file must not stop the batch; the reason is recorded
            logger.exception("%s: unexpected error", task.path)
            return ScoreResult(task.pk, error=f"{task.path}: internal error: {type(exc).__name__}: {exc}",
                               seconds=time.perf_counter() - t0)
        return ScoreResult(task.pk, report=report, seconds=time.perf_counter() - t0)
