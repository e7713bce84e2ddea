"""Speech regions from Silero VAD (the ONNX model bundled with faster-whisper).

Regions are turn-sized (split at pauses of ``min_silence_ms``) so that each becomes one
utterance, and short enough (``max_speech_s``) to pack into Whisper's 30 s windows.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from faster_whisper.vad import VadOptions as _FwVadOptions
from faster_whisper.vad import get_speech_timestamps

from .types import Span

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class VadOptions:
    """Silero VAD settings; defaults tuned on telephone calls (turn-level regions, small pads)."""

    threshold: float = 0.5
    min_speech_ms: int = 150
    min_silence_ms: int = 300
    speech_pad_ms: int = 400
    max_speech_s: float = 20.0


def detect_speech(samples: np.ndarray, options: VadOptions | None = None) -> list[Span]:
    """Speech spans (seconds) in one 16 kHz channel."""
    opts = options or VadOptions()
    if samples.size < SAMPLE_RATE // 10:
        return []
    stamps = get_speech_timestamps(
        np.ascontiguousarray(samples, dtype=np.float32),
        _FwVadOptions(
            threshold=opts.threshold,
            min_speech_duration_ms=opts.min_speech_ms,
            min_silence_duration_ms=opts.min_silence_ms,
            speech_pad_ms=opts.speech_pad_ms,
            max_speech_duration_s=opts.max_speech_s,
        ),
    )
    return [Span(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in stamps]


def detect_speech_channels(samples: np.ndarray, options: VadOptions | None = None) -> dict[int, list[Span]]:
    """Speech spans of every channel of a (channels, samples) array.

    Silero runs single-threaded (onnxruntime releases the GIL), so the channels of a stereo call
    are detected in parallel threads: on two cores this halves the VAD step's wall time.
    """
    n = samples.shape[0]
    workers = min(n, os.cpu_count() or 1)
    if workers <= 1:
        return {ch: detect_speech(samples[ch], options) for ch in range(n)}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        found = list(pool.map(lambda ch: detect_speech(samples[ch], options), range(n)))
    return dict(enumerate(found))
