"""Whisper batched across calls: one ``recognise()`` over the speech regions of every call waiting for ASR.

Why: the pipeline already batches the windows of one call; on a GPU a single call rarely fills a batch.
Calls prepared in parallel (decode + VAD on CPU workers) hand their regions to one :class:`AsrBatcher`
next to the loaded model, which merges whatever is waiting into one ``recognise()`` call. Each call's
regions get their own key, so windows never mix calls; the words go back to the call they came from.
The workers run the unchanged :class:`~qa_engine.pipeline.Pipeline` with a proxy recognizer
(:class:`ProxyRecognizer`): there is still one way to score a call.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from qa_engine.asr import SAMPLE_RATE, AsrOptions, RecognisedRegion, Recognizer, SpeechRegion
from qa_engine.types import Word

logger = logging.getLogger(__name__)

WordLists = list[tuple[Word, ...]]


def recognise_many(recognizer: Recognizer, requests: Sequence[Sequence[SpeechRegion]]) -> list[WordLists]:
    """The words of every region of every request, from one ``recognise()`` call."""
    merged = [replace(r, key=(n, r.key)) for n, regions in enumerate(requests) for r in regions]
    recognised = recognizer.recognise(merged) if merged else []
    out: list[WordLists] = []
    i = 0
    for regions in requests:
        out.append([rr.words for rr in recognised[i: i + len(regions)]])
        i += len(regions)
    return out


@dataclass
class _Pending:
    regions: Sequence[SpeechRegion]
    future: Future[WordLists]

    @property
    def seconds(self) -> float:
        return sum(r.audio.shape[0] for r in self.regions) / SAMPLE_RATE


class AsrBatcher:
    """Collects recognition requests from many calls and decodes them together on one thread.

    ``target_s`` is the speech worth waiting for (enough to fill a batch of windows); ``max_wait_s``
    is how long the first request may wait for company (0 on CPU, where a bigger batch buys little).
    """

    def __init__(self, recognizer: Recognizer, *, target_s: float | None = None, max_wait_s: float = 0.0) -> None:
        opts = recognizer.options
        self.recognizer = recognizer
        self.target_s = target_s if target_s is not None else opts.batch_size * opts.window_s
        self.max_wait_s = max_wait_s
        self.batches = 0
        self.requests = 0
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="asr-batcher", daemon=True)
        self._thread.start()

    def submit(self, regions: Sequence[SpeechRegion]) -> Future[WordLists]:
        future: Future[WordLists] = Future()
        self._queue.put(_Pending(regions, future))
        return future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=60)

    def _gather(self, first: _Pending) -> tuple[list[_Pending], bool]:
        import time

        batch, total = [first], first.seconds
        deadline = time.monotonic() + self.max_wait_s
        while total < self.target_s:
            try:
                wait = deadline - time.monotonic()
                item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
            total += item.seconds
        return batch, False

    def _loop(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                return
            batch, stop = self._gather(first)
            try:
                results = recognise_many(self.recognizer, [p.regions for p in batch])
            except Exception as exc:  # noqa: BLE001 - handed to every waiting call, which records it
                logger.exception("ASR failed on a batch of %d call(s)", len(batch))
                for p in batch:
                    p.future.set_exception(exc)
                continue
            self.batches += 1
            self.requests += len(batch)
            logger.debug("ASR batch: %d call(s), %.1f s of speech", len(batch), sum(p.seconds for p in batch))
            for p, words in zip(batch, results, strict=True):
                p.future.set_result(words)


class BatchedRecognizer(Recognizer):
    """The recognizer that threads sharing one model use (the service's workers on a GPU): ``recognise`` goes
    through ``batcher``, so the speech of calls processed at the same time is decoded in shared batches.

    Why a subclass and not :class:`ProxyRecognizer`: ``with_options`` must keep its meaning (the live tap asks for
    other decoding settings), and the batcher decodes with its own recognizer's options only; so another set of
    options gets a plain recognizer over the same model, decoding on the caller's thread as before.
    """

    def __init__(self, batcher: AsrBatcher) -> None:
        self.batcher = batcher
        self.options = batcher.recognizer.options
        self.model = batcher.recognizer.model

    def with_options(self, **changes: Any) -> Recognizer:
        return self.batcher.recognizer.with_options(**changes)

    def recognise(self, regions: Sequence[SpeechRegion],
                  progress: Callable[[float, float], None] | None = None) -> list[RecognisedRegion]:
        """Words for ``regions``, decoded in batches shared with other calls (no in-call progress to report)."""
        if not regions:
            return []
        words = self.batcher.submit(list(regions)).result()
        return [RecognisedRegion(r, tuple(ws)) for r, ws in zip(regions, words, strict=True)]

    def detect_language(self, audio: np.ndarray, allowed: Sequence[str] = ("zh", "en")) -> tuple[str, float]:
        return self.batcher.recognizer.detect_language(audio, allowed)


def on_gpu(recognizer: Recognizer) -> bool:
    """Whether the recognizer's model runs on CUDA (a proxy without a model: False)."""
    model = getattr(recognizer, "model", None)
    return str(getattr(getattr(model, "model", None), "device", "cpu")) == "cuda"


class ProxyRecognizer(Recognizer):
    """A recognizer without a model: ``recognise`` sends the regions to ``send`` and waits for the words.

    ``send(kind, payload)`` is the transport (a process queue, a Ray actor); ``kind`` is ``recognise``
    (payload: regions; answer: word lists) or ``language`` (payload: audio; answer: (language, p)).
    """

    def __init__(self, options: AsrOptions, send: Callable[[str, Any], Any]) -> None:
        self.options = options
        self.model = None
        self._send = send

    def with_options(self, **changes: Any) -> Recognizer:
        return ProxyRecognizer(replace(self.options, **changes), self._send)

    def recognise(self, regions: Sequence[SpeechRegion],
                  progress: Callable[[float, float], None] | None = None) -> list[RecognisedRegion]:
        """Words for ``regions`` from the model holder (no in-call progress to report)."""
        if not regions:
            return []
        words: WordLists = self._send("recognise", list(regions))
        return [RecognisedRegion(r, tuple(ws)) for r, ws in zip(regions, words, strict=True)]

    def detect_language(self, audio: np.ndarray, allowed: Sequence[str] = ("zh", "en")) -> tuple[str, float]:
        language, probability = self._send("language", (audio, tuple(allowed)))
        return str(language), float(probability)


def serve_request(batcher: AsrBatcher, kind: str, payload: Any) -> Future[Any]:
    """Answer one proxy request: recognition goes through the batcher, language detection runs at once."""
    if kind == "recognise":
        return batcher.submit(payload)
    future: Future[Any] = Future()
    try:
        audio, allowed = payload
        future.set_result(batcher.recognizer.detect_language(audio, allowed))
    except Exception as exc:  # noqa: BLE001 - returned to the caller
        future.set_exception(exc)
    return future
