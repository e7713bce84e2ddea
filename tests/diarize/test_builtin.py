"""The built-in diarizer on the shipped two-voice calls (8 kHz telephone audio, mixed to mono)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qa_engine.diarize import DiarizationError, DiarizationOptions, OneSpeakerError, diarization_error
from qa_engine.diarize.builtin import BuiltinDiarizer

from .conftest import expected_turns, load_mono_16k


@pytest.mark.parametrize(("audio", "expected"), [("en_mono_16k", "call_en_expected"),
                                                   ("zh_mono_16k", "call_zh_expected")])
def test_two_tts_voices_are_separated(audio: str, expected: str, diarizer: Any,
                                      request: pytest.FixtureRequest) -> None:
    samples = request.getfixturevalue(audio)
    ref = expected_turns(request.getfixturevalue(expected))
    result = diarizer(samples, audio)
    assert result.speakers == 2 and result.backend == "builtin"
    der = diarization_error(ref, [(t.start, t.end, t.speaker) for t in result.turns])
    assert der.der < 0.10, der
    # the agent opens both calls: speaker 0 is whoever speaks first
    assert result.turns[0].speaker == 0 and result.turns[0].start < 1.0
    assert result.similarity is not None and result.similarity < 0.8
    # the two voices take turns: well above the one-speaker check's bar (0.8)
    assert result.voice_evidence is not None and result.voice_evidence > 1.0


def test_estimated_speaker_count_is_two(diarizer: Any, en_mono_16k: np.ndarray) -> None:
    auto = BuiltinDiarizer(DiarizationOptions(speakers=None), embedder=diarizer.embedder)
    assert auto(en_mono_16k, "call_en_mono").speakers == 2


def test_speakers_1_keeps_a_one_voice_file_whole(diarizer: Any, data_dir: Path) -> None:
    greeting = load_mono_16k(data_dir / "clips" / "en_agent_greeting.flac")
    one = BuiltinDiarizer(DiarizationOptions(speakers=1), embedder=diarizer.embedder)(greeting, "greeting")
    assert one.speakers == 1 and {t.speaker for t in one.turns} == {0}
    assert one.turns[0].start < 0.3 and one.turns[-1].end > 3.0


def test_a_second_voice_too_small_to_be_a_party_is_a_clear_error(diarizer: Any, data_dir: Path) -> None:
    strict = BuiltinDiarizer(DiarizationOptions(min_speaker_share=0.6), embedder=diarizer.embedder)
    greeting = load_mono_16k(data_dir / "clips" / "en_agent_greeting.flac")
    with pytest.raises(DiarizationError, match=r"greeting: only one speaker heard.*--speakers 1"):
        strict(greeting, "greeting")


def test_silence_is_a_clear_error(diarizer: Any) -> None:
    with pytest.raises(DiarizationError, match="no speech"):
        diarizer(np.zeros(16000 * 3, dtype=np.float32), "silence.wav")


@pytest.mark.parametrize("audio", ["en_one_voice_16k", "zh_one_voice_16k"])
def test_one_voice_reading_both_parties_is_a_clear_error(audio: str, diarizer: Any,
                                                         request: pytest.FixtureRequest) -> None:
    samples = request.getfixturevalue(audio)
    with pytest.raises(OneSpeakerError, match=rf"^{audio}: only one speaker heard \(.*\); .*--speakers 1") as exc:
        diarizer(samples, audio)
    assert "\n" not in str(exc.value)
    # without the voice-similarity bar the two-voice evidence alone still says one voice
    no_similarity = BuiltinDiarizer(DiarizationOptions(max_similarity=1.0), embedder=diarizer.embedder)
    with pytest.raises(OneSpeakerError, match="do not take turns like two parties") as exc:
        no_similarity(samples, audio)
    assert exc.value.evidence is not None and exc.value.evidence < 0.8


def test_without_the_checks_one_voice_is_split_in_two(diarizer: Any, en_one_voice_16k: np.ndarray) -> None:
    """What the checks prevent: a made-up second speaker (and roles invented from it)."""
    unchecked = BuiltinDiarizer(DiarizationOptions(max_similarity=1.0, min_voice_evidence=None),
                                embedder=diarizer.embedder)
    result = unchecked(en_one_voice_16k, "joe")
    assert result.speakers == 2 and result.voice_evidence is None
