"""Fixtures for the diarization tests: the shipped two-voice calls as 16 kHz mono, one-voice calls made
from the same script with one TTS voice, the embedder once."""

from __future__ import annotations

import shutil
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


def _make_test_audio() -> Any:
    """scripts/make_test_audio.py as a module (its voices and timeline builder make the one-voice calls)."""
    import importlib.util
    import sys

    if "make_test_audio" in sys.modules:
        return sys.modules["make_test_audio"]
    path = Path(__file__).resolve().parents[2] / "scripts" / "make_test_audio.py"
    spec = importlib.util.spec_from_file_location("make_test_audio", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_test_audio"] = module  # its dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def one_voice_call(language: str, role: str) -> np.ndarray:
    """The shipped call's script with every line read by the ``role`` voice (no overlap), as 16 kHz mono."""
    import dataclasses

    mta = _make_test_audio()
    spec = mta.EN if language == "en" else mta.ZH
    voice = spec.voices[role]
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    if voice.engine == "piper":
        pytest.importorskip("piper")
    one = dataclasses.replace(spec, voices={r: voice for r in spec.voices},
                              turns=tuple(dataclasses.replace(t, gap_s=max(t.gap_s, 0.45)) for t in spec.turns))
    _, mono, _ = mta.build(one)
    return soxr.resample(mono, mta.SR, 16000).astype(np.float32)


@pytest.fixture(scope="session")
def en_one_voice_16k() -> np.ndarray:
    """Piper's Joe (the English agent voice) reading both parties' lines: one speaker, call-like turns."""
    return one_voice_call("en", "agent")


@pytest.fixture(scope="session")
def zh_one_voice_16k() -> np.ndarray:
    """espeak-ng cmn +f3 (the Mandarin agent voice) reading both parties' lines."""
    return one_voice_call("zh", "agent")
