"""Fixtures for the diarization tests: the shipped two-voice calls as 16 kHz mono, the embedder once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import soxr


def load_mono_16k(path: Path) -> np.ndarray:
    """Mix all channels down (the way a mono archive would hold the call) and resample to 16 kHz."""
    x, sr = sf.read(path, dtype="float32", always_2d=True)
    return soxr.resample(x.mean(axis=1), sr, 16000).astype(np.float32)


def expected_turns(expected: dict[str, Any]) -> list[tuple[float, float, str]]:
    return [(t["start"], t["end"], t["role"]) for t in expected["turns"]]


@pytest.fixture(scope="session")
def diarizer() -> Any:
    """The built-in diarizer (d-vector embedder loaded once per session)."""
    from qa_engine.diarize.builtin import BuiltinDiarizer

    return BuiltinDiarizer()


@pytest.fixture(scope="session")
def en_mono_16k(call_en_mono: Path) -> np.ndarray:
    """Piper (agent) + espeak-ng en-us+f2 (customer), 8 kHz mono, as 16 kHz samples."""
    return load_mono_16k(call_en_mono)


@pytest.fixture(scope="session")
def zh_mono_16k(call_zh_stereo: Path) -> np.ndarray:
    """The Mandarin call (espeak-ng +f3 agent, +m7 customer) mixed down to mono."""
    return load_mono_16k(call_zh_stereo)
