"""G.711 μ-law (PCMU), the codec AudioHook streams: decode to PCM16 and encode back (for our own client).

Why our own table: ``audioop`` is gone from Python 3.13, and a 256-entry lookup is all decoding needs.
"""

from __future__ import annotations

import numpy as np

_BIAS = 0x84
_CLIP = 32635


def _decode_table() -> np.ndarray:
    u = (~np.arange(256, dtype=np.int32)) & 0xFF
    sign = u & 0x80
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


ULAW_TO_PCM16 = _decode_table()


def ulaw_decode(data: bytes | np.ndarray) -> np.ndarray:
    """μ-law bytes -> int16 samples (one byte per sample)."""
    codes = np.frombuffer(data, dtype=np.uint8) if isinstance(data, (bytes, bytearray, memoryview)) else data
    return ULAW_TO_PCM16[codes]


def ulaw_encode(samples: np.ndarray) -> bytes:
    """int16 (or float in [-1, 1]) samples -> μ-law bytes (G.711, with the usual bias and clipping)."""
    x = np.asarray(samples)
    if x.dtype.kind == "f":
        x = np.clip(x * 32768.0, -32768, 32767)
    pcm = x.astype(np.int32)
    sign = (pcm < 0).astype(np.int32) << 7
    magnitude = np.minimum(np.abs(pcm), _CLIP) + _BIAS
    exponent = np.clip(np.floor(np.log2(magnitude >> 7 | 1)).astype(np.int32), 0, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ((~(sign | (exponent << 4) | mantissa)) & 0xFF).astype(np.uint8).tobytes()


def deinterleave(frame: bytes, channels: int) -> np.ndarray:
    """One AudioHook binary frame (interleaved μ-law, one byte per sample per channel) -> int16 (channels, n).

    Raises:
        ValueError: the frame length is not a whole number of samples for ``channels``.
    """
    if len(frame) % channels:
        raise ValueError(f"audio frame of {len(frame)} bytes is not a whole number of {channels}-channel samples")
    pcm = ulaw_decode(frame)
    return pcm.reshape(-1, channels).T.copy()
