"""Shared pytest fixtures: the synthetic calls in tests/data/ (made by scripts/make_test_audio.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

DATA_DIR = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA_DIR


@pytest.fixture(scope="session")
def call_en_stereo(data_dir: Path) -> Path:
    """English call, 8 kHz stereo FLAC: ch0 customer, ch1 agent, crosstalk + one overlap."""
    return data_dir / "call_en_stereo.flac"


@pytest.fixture(scope="session")
def call_zh_stereo(data_dir: Path) -> Path:
    """Mandarin call, 8 kHz stereo FLAC: ch0 agent, ch1 customer, crosstalk + one overlap."""
    return data_dir / "call_zh_stereo.flac"


@pytest.fixture(scope="session")
def call_en_mono(data_dir: Path) -> Path:
    """The English call's two voices mixed to one channel (8 kHz WAV)."""
    return data_dir / "call_en_mono.wav"


def _expected(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def call_en_expected(data_dir: Path) -> dict[str, Any]:
    """Script of call_en_stereo (and call_en_mono): turns with role, channel, start, end, text."""
    return _expected(data_dir / "call_en_stereo.expected.json")


@pytest.fixture(scope="session")
def call_zh_expected(data_dir: Path) -> dict[str, Any]:
    """Script of call_zh_stereo: turns with role, channel, start, end, text."""
    return _expected(data_dir / "call_zh_stereo.expected.json")


# --- ASR model fixtures go below (session-scoped Whisper base; owned by the pipeline tests) ---
