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


#: Longer channels are run through Silero in blocks of this many samples (2 min): the model's input copies
#: (about 2.4x the audio it is given) stay small whatever the call's length. Spans cut by a block edge are joined.
BLOCK_SAMPLES = 120 * SAMPLE_RATE


def detect_speech(samples: np.ndarray, options: VadOptions | None = None) -> list[Span]:
    """Speech spans (seconds) in one 16 kHz channel (in 2-minute blocks for long channels: bounded memory)."""
    opts = options or VadOptions()
    if samples.size <= BLOCK_SAMPLES:
        return _detect_block(samples, opts)
    spans: list[Span] = []
    for start in range(0, samples.size, BLOCK_SAMPLES):
        offset = start / SAMPLE_RATE
        edge = offset
        for span in _detect_block(samples[start:start + BLOCK_SAMPLES], opts):
            span = Span(span.start + offset, span.end + offset)
            pad = opts.speech_pad_ms / 1000 + 0.05
            if spans and span.start - edge <= pad and edge - spans[-1].end <= pad:
                spans[-1] = Span(spans[-1].start, span.end)  # one region cut by the block edge
            else:
                spans.append(span)
            edge = -1.0  # only the block's first span can continue the previous block's last
    return spans


def _detect_block(samples: np.ndarray, opts: VadOptions) -> list[Span]:
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
