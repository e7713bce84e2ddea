"""Streaming speech segmentation of one channel: Silero VAD run on 32 ms chunks as audio arrives.

Why not :func:`qa_engine.vad.detect_speech` on a growing buffer: re-running VAD over the whole call
on every frame is quadratic. The Silero model bundled with faster-whisper carries an LSTM state
(``h``, ``c``) from chunk to chunk, so feeding it chunk by chunk with that state kept gives the
same speech probabilities as the file path; the start/end rules below follow faster-whisper's
(threshold, hysteresis, minimum silence, minimum speech, padding, maximum length).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from ..vad import SAMPLE_RATE, VadOptions

CHUNK = 512  # samples per Silero step at 16 kHz (32 ms)
CONTEXT = 64  # samples of the previous chunk the model sees
_model_lock = threading.Lock()


@dataclass(frozen=True)
class Segment:
    """A finished stretch of speech: padded bounds (what ASR gets) and the moment speech stopped."""

    start: float
    end: float
    speech_end: float
    audio: np.ndarray = field(repr=False)


class _Buffer:
    """Samples from absolute index ``base`` on; old audio is dropped once no segment can need it."""

    def __init__(self) -> None:
        self.data = np.zeros(SAMPLE_RATE * 4, dtype=np.float32)
        self.base = 0
        self.length = 0

    @property
    def end(self) -> int:
        return self.base + self.length

    def append(self, samples: np.ndarray) -> None:
        need = self.length + samples.shape[0]
        if need > self.data.shape[0]:
            grown = np.zeros(max(need, 2 * self.data.shape[0]), dtype=np.float32)
            grown[: self.length] = self.data[: self.length]
            self.data = grown
        self.data[self.length: need] = samples
        self.length = need

    def slice(self, start: int, end: int) -> np.ndarray:
        s, e = max(start, self.base) - self.base, min(end, self.end) - self.base
        return self.data[s:e].copy() if e > s else np.zeros(0, dtype=np.float32)

    def drop_before(self, index: int) -> None:
        cut = min(max(index - self.base, 0), self.length)
        if cut:
            self.data[: self.length - cut] = self.data[cut: self.length]
            self.base += cut
            self.length -= cut


class StreamingVad:
    """Feed 16 kHz float32 samples; get back the speech segments that have finished."""

    def __init__(self, options: VadOptions | None = None) -> None:
        from faster_whisper.vad import get_vad_model

        self.options = opts = options or VadOptions()
        self._model = get_vad_model()
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._audio = _Buffer()
        self._next_chunk = 0  # absolute sample index of the next chunk the model has not seen
        self._neg = max(opts.threshold - 0.15, 0.01)
        self._min_silence = int(SAMPLE_RATE * opts.min_silence_ms / 1000)
        self._min_speech = int(SAMPLE_RATE * opts.min_speech_ms / 1000)
        self._pad = int(SAMPLE_RATE * opts.speech_pad_ms / 1000)
        self._max_speech = int(SAMPLE_RATE * opts.max_speech_s) - CHUNK - 2 * self._pad
        self._start: int | None = None  # open speech start (unpadded)
        self._temp_end = 0
        self._last_end = 0  # padded end of the last emitted segment
        self._ready: list[tuple[int, int]] = []  # closed (start, end) waiting for their padding to arrive

    @property
    def received_s(self) -> float:
        return self._audio.end / SAMPLE_RATE

    @property
    def settled_s(self) -> float:
        """Time up to which every utterance has been handed out (the start of open or waiting speech)."""
        pending = [s for s, _ in self._ready] + ([self._start] if self._start is not None else [])
        return (min(pending) if pending else self._next_chunk) / SAMPLE_RATE

    @property
    def in_speech(self) -> bool:
        return self._start is not None

    def feed(self, samples: np.ndarray) -> list[Segment]:
        """Add audio; returns the segments whose end (and padding) is now known."""
        self._audio.append(np.asarray(samples, dtype=np.float32))
        n = (self._audio.end - self._next_chunk) // CHUNK
        if n > 0:
            chunks = self._audio.slice(self._next_chunk, self._next_chunk + n * CHUNK).reshape(n, CHUNK)
            contexts = np.concatenate([self._context[None, :], chunks[:-1, -CONTEXT:]], axis=0)
            self._context = chunks[-1, -CONTEXT:].copy()
            with _model_lock:  # one ONNX session per process
                probs, self._h, self._c = self._model.session.run(
                    None, {"input": np.concatenate([contexts, chunks], axis=1), "h": self._h, "c": self._c})
            for i, p in enumerate(np.asarray(probs).reshape(-1)):
                self._step(float(p), self._next_chunk + i * CHUNK)
            self._next_chunk += n * CHUNK
        return self._release(final=False)

    def flush(self) -> list[Segment]:
        """End of stream: close open speech and hand out everything left."""
        if self._start is not None and self._audio.end - self._start > self._min_speech:
            self._ready.append((self._start, self._audio.end))
        self._start = None
        return self._release(final=True)

    def _step(self, prob: float, pos: int) -> None:
        if self._start is None:
            if prob >= self.options.threshold:
                self._start, self._temp_end = pos, 0
            return
        if prob >= self.options.threshold:
            self._temp_end = 0
        if pos - self._start > self._max_speech:  # too long: cut here (at the last quiet moment if any)
            cut = self._temp_end or pos
            self._ready.append((self._start, cut))
            self._start, self._temp_end = (pos if cut == pos else None), 0
            return
        if prob < self._neg:
            if not self._temp_end:
                self._temp_end = pos
            if pos - self._temp_end >= self._min_silence:
                if self._temp_end - self._start > self._min_speech:
                    self._ready.append((self._start, self._temp_end))
                self._start, self._temp_end = None, 0

    def _release(self, *, final: bool) -> list[Segment]:
        out: list[Segment] = []
        while self._ready:
            start, end = self._ready[0]
            padded_end = end + self._pad
            if not final and self._audio.end < padded_end and self._start is None:
                break  # the padding after the speech has not arrived yet
            if self._start is not None:  # speech resumed within the padding: split the silence between them
                padded_end = min(padded_end, (end + self._start) // 2)
            padded_end = min(padded_end, self._audio.end)
            padded_start = max(start - self._pad, self._last_end, 0)
            self._ready.pop(0)
            out.append(Segment(padded_start / SAMPLE_RATE, padded_end / SAMPLE_RATE, end / SAMPLE_RATE,
                               self._audio.slice(padded_start, padded_end)))
            self._last_end = padded_end
        keep = min([s for s, _ in self._ready] + [self._start if self._start is not None else self._next_chunk])
        self._audio.drop_before(keep - self._pad - CHUNK)
        return out
