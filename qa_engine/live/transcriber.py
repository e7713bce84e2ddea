"""One background thread that transcribes finished utterances of every live call, oldest first.

Why one thread and batches: on a small CPU, Whisper decoding is the bottleneck; decoding the
utterances that are waiting (from any call) in one batch keeps throughput up when many calls
are live, and a single queue keeps the order fair. The queue is bounded by time, not count:
when the oldest waiting utterance is older than ``lag_warn_s`` the lag is reported, and nothing
is ever dropped (the stream catches up when speech pauses).

Live decoding is greedy (fast). A long utterance whose greedy decoding failed (a loop: no words) gets a
second chance with Whisper's temperature fallback, which takes seconds, only when there is room for it:
the transcriber was busy less than ``second_chance_max_busy`` of the last ``BUSY_WINDOW_S`` and nothing
else is waiting. Under load it is given up at once (the final scoring at close decodes every utterance
again with fallback): a late second chance would hold up every other call and delay time-based alerts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..asr import Recognizer, SpeechRegion
from ..types import Word
from .segmenter import Segment

logger = logging.getLogger(__name__)
BUSY_WINDOW_S = 20.0


@dataclass
class UtteranceJob:
    """A finished segment waiting for ASR, and whom to tell."""

    segment: Segment
    channel: int
    language: str
    offset: float  # call time of the segment's stream start (discarded audio shifts it)
    done: Callable[[UtteranceJob, tuple[Word, ...]], None]
    speech_end_wall: float  # wall clock when the end of speech arrived
    queued_wall: float = field(default_factory=time.monotonic)
    context: Any = None


class LiveTranscriber:
    """Decodes :class:`UtteranceJob` s in batches on its own thread (start on first use)."""

    def __init__(self, recognizer: Callable[[], Recognizer], *, batch_size: int = 8, lag_warn_s: float = 3.0,
                 second_chance: Callable[[], Recognizer] | None = None, second_chance_min_s: float = 2.0,
                 second_chance_max_busy: float = 0.3) -> None:
        self._recognizer_source = recognizer
        self._recognizer: Recognizer | None = None
        self._second_source = second_chance
        self._second_recognizer: Recognizer | None = None
        self.second_chance_min_s = second_chance_min_s
        self.second_chance_max_busy = second_chance_max_busy
        self._busy: deque[tuple[float, float]] = deque()  # (start, end) of recent decodes, monotonic clock
        self.batch_size = batch_size
        self.lag_warn_s = lag_warn_s
        self._queue: deque[UtteranceJob] = deque()
        self._second: deque[UtteranceJob] = deque()  # empty after greedy decoding, waiting for an idle moment
        self._cond = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self.busy_s = 0.0
        self.decoded = 0

    def submit(self, job: UtteranceJob) -> None:
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="live-asr", daemon=True)
                self._thread.start()
            self._queue.append(job)
            self._cond.notify()

    @property
    def backlog(self) -> int:
        return len(self._queue) + len(self._second)

    def lag_s(self) -> float:
        """How long the oldest waiting utterance has waited (0 when the queue is empty)."""
        with self._cond:
            waiting = [q[0].queued_wall for q in (self._queue, self._second) if q]
            return time.monotonic() - min(waiting) if waiting else 0.0

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _get_recognizer(self) -> Recognizer:
        if self._recognizer is None:
            self._recognizer = self._recognizer_source()
        return self._recognizer

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._second and not self._stop:
                    self._cond.wait()
                if self._stop and not self._queue and not self._second:
                    return
                second = not self._queue  # idle: a failed utterance's second chance
                source = self._second if second else self._queue
                size = 1 if second else min(self.batch_size, len(self._queue))
                batch = [source.popleft() for _ in range(size)]
                lag = time.monotonic() - batch[0].queued_wall
            if lag > self.lag_warn_s and not second:
                logger.warning("live ASR is %.1f s behind (%d utterance(s) waiting)", lag, self.backlog)
            t0 = time.monotonic()
            try:
                results = self._decode(batch, self._get_second_recognizer() if second else self._get_recognizer())
            except Exception:  # one bad batch must not stop live transcription for every call
                logger.exception("live ASR failed on a batch of %d utterance(s)", len(batch))
                results = [() for _ in batch]
            t1 = time.monotonic()
            self.busy_s += t1 - t0
            self._busy.append((t0, t1))
            self.decoded += len(batch)
            for job, words in zip(batch, results, strict=True):
                if not words and not second and self._second_chance_for(job):
                    with self._cond:
                        self._second.append(job)
                    continue
                try:
                    job.done(job, words)
                except Exception:
                    logger.exception("live call callback failed")

    def busy_share(self, now: float | None = None) -> float:
        """Share of the last ``BUSY_WINDOW_S`` spent decoding."""
        now = time.monotonic() if now is None else now
        while self._busy and self._busy[0][1] < now - BUSY_WINDOW_S:
            self._busy.popleft()
        return sum(min(e, now) - max(s, now - BUSY_WINDOW_S) for s, e in self._busy) / BUSY_WINDOW_S

    def _second_chance_for(self, job: UtteranceJob) -> bool:
        if self._second_source is None or job.segment.end - job.segment.start < self.second_chance_min_s:
            return False
        if self.busy_share() > self.second_chance_max_busy:
            logger.info("live ASR: no words for a %.1f s utterance; too busy for a second chance",
                        job.segment.end - job.segment.start)
            return False
        return True

    def _get_second_recognizer(self) -> Recognizer:
        if self._second_recognizer is None:
            assert self._second_source is not None
            self._second_recognizer = self._second_source()
        return self._second_recognizer

    def _decode(self, batch: list[UtteranceJob], recognizer: Recognizer) -> list[tuple[Word, ...]]:
        regions = [SpeechRegion(("live", i), job.offset + job.segment.start, job.segment.audio, job.language,
                                channel=job.channel) for i, job in enumerate(batch)]
        return [rr.words for rr in recognizer.recognise(regions)]
