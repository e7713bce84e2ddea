"""Shared pytest fixtures: the synthetic calls in tests/data/ (made by scripts/make_test_audio.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

DATA_DIR = Path(__file__).parent / "data"

# Many service tests upload a call as its agent, for brevity; the service's default (agents may not upload, see
# tests/api/test_authz.py) is off. Set before any Settings is built (also inherited by `qa-engine serve` subprocesses).
os.environ.setdefault("QA_ENGINE_AGENT_UPLOADS", "true")


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


@pytest.fixture(scope="session")
def recognizer() -> Any:
    """Whisper base (bundled), loaded once per test session with the default options."""
    from qa_engine.asr import AsrOptions, Recognizer

    return Recognizer(AsrOptions())


@pytest.fixture(scope="session")
def pipeline_en(recognizer: Any) -> Any:
    from qa_engine.pipeline import Pipeline, PipelineOptions

    return Pipeline(PipelineOptions(language="en"), recognizer=recognizer)


@pytest.fixture(scope="session")
def pipeline_zh(recognizer: Any) -> Any:
    from qa_engine.pipeline import Pipeline, PipelineOptions

    return Pipeline(PipelineOptions(language="zh"), recognizer=recognizer)


@pytest.fixture(scope="session")
def en_stereo_result(pipeline_en: Any, call_en_stereo: Path) -> Any:
    """(transcript, timings) of call_en_stereo, transcribed once per session."""
    from qa_engine.pipeline import CallInput

    return pipeline_en.transcribe(CallInput(call_en_stereo))


@pytest.fixture(scope="session")
def zh_stereo_result(pipeline_zh: Any, call_zh_stereo: Path) -> Any:
    """(transcript, timings) of call_zh_stereo, transcribed once per session."""
    from qa_engine.pipeline import CallInput

    return pipeline_zh.transcribe(CallInput(call_zh_stereo))


@pytest.fixture(scope="session")
def en_mono_result(pipeline_en: Any, call_en_mono: Path) -> Any:
    """(transcript, timings) of call_en_mono, transcribed once per session."""
    from qa_engine.pipeline import CallInput

    return pipeline_en.transcribe(CallInput(call_en_mono))


@pytest.fixture(scope="session")
def en_stereo_report(pipeline_en: Any, en_stereo_result: Any) -> Any:
    """The score path's report for call_en_stereo (rules run on the cached transcript)."""
    transcript, timings = en_stereo_result
    return pipeline_en.check(transcript, timings=timings)
