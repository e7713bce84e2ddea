"""Bounded memory for any recording: the decoded-size budget (from the header, and counted while decoding when the
header lies), energy without a full-length float64 copy, the crosstalk gate in place, VAD in blocks.
The hours-long measurements are in ``benchmarks/bench_audio_memory.py``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from qa_engine import audio as audio_mod
from qa_engine.audio import channel_energy_db, decoded_mb, load_audio, probe_decoded_budget
from qa_engine.channels import gate_crosstalk
from qa_engine.errors import AudioError
from qa_engine.vad import BLOCK_SAMPLES, detect_speech


def _flac(path: Path, seconds: float, channels: int = 1) -> Path:
    data = np.zeros((int(seconds * 8000), channels), dtype=np.int16)
    data[::8000] = 300
    sf.write(str(path), data, 8000, format="FLAC", subtype="PCM_16")
    return path


def test_budget_refuses_from_the_header_before_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _flac(tmp_path / "long.flac", 180, 2)  # 3 min stereo: 22 MB decoded
    assert decoded_mb(180, 2) == pytest.approx(21.97, abs=0.01)

    def no_decoding(*_args: object, **_kw: object) -> None:
        raise AssertionError("must be refused before decoding")

    monkeypatch.setattr(audio_mod, "_resample_blocks", no_decoding)
    with pytest.raises(AudioError, match=r"too long to decode: 0:03:00 \(2 channels\) needs 22 MB.*10 MB budget"):
        load_audio(path, max_decoded_mb=10)
    with pytest.raises(AudioError, match="QA_ENGINE_MAX_DECODED_MB"):
        probe_decoded_budget(path, max_duration_s=None, max_decoded_mb=10)
    with pytest.raises(AudioError, match="too long: 0:03:00 is over the 0:01:00 limit"):
        probe_decoded_budget(path, max_duration_s=60, max_decoded_mb=None)


def test_budget_holds_while_decoding_when_the_header_lies(tmp_path: Path) -> None:
    blocks = (np.full((8000, 1), 0.1, dtype=np.float32) for _ in range(10_000))  # "unknown length", ~2.8 h
    limits = audio_mod._Limits(max_duration_s=None, max_decoded_mb=1.0)
    with pytest.raises(AudioError, match="over the 1 MB budget"):
        audio_mod._resample_blocks("lying.wav", blocks, 8000, 1, 16000, 0, limits)


def test_within_budget_decodes_as_before(tmp_path: Path) -> None:
    path = _flac(tmp_path / "ok.flac", 20, 2)
    limited = load_audio(path, max_decoded_mb=5)
    free = load_audio(path, max_decoded_mb=None)
    assert np.array_equal(limited.samples, free.samples) and limited.samples.shape == (2, 320_000)


def test_energy_in_blocks_matches_the_whole_array() -> None:
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((2, 16000 * 70 + 123)) * 0.1).astype(np.float32)  # > one energy block
    frame = 480
    n_frames = -(-x.shape[1] // frame)
    padded = np.zeros((2, n_frames * frame))
    padded[:, :x.shape[1]] = x
    power = (padded.reshape(2, n_frames, frame) ** 2).sum(axis=2).T
    counts = np.full(n_frames, frame, dtype=np.float64)
    counts[-1] = x.shape[1] - (n_frames - 1) * frame
    expected = 10 * np.log10(np.maximum(power / counts[:, None], 1e-12))
    assert np.allclose(channel_energy_db(x, 16000, 0.03), expected, atol=1e-3)


def test_gate_in_place_equals_the_copy() -> None:
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((2, 16000 * 5)) * 0.05).astype(np.float32)
    x[0, :40000] *= 20  # channel 0 loud in the first half: channel 1's frames there are muted
    energy = channel_energy_db(x, 16000, 0.03)
    copied = gate_crosstalk(x, energy, 0.03, 16000, below_db=20)
    assert copied is not x
    same = x.copy()
    gated = gate_crosstalk(same, energy, 0.03, 16000, below_db=20, inplace=True)
    assert gated is same and np.array_equal(gated, copied)
    assert not np.any(copied[1, 480:30000]) and np.any(copied[1, 50000:])


def test_vad_in_blocks_joins_speech_cut_by_a_block_edge(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def fake_block(samples: np.ndarray, _opts: object) -> list:
        from qa_engine.types import Span

        calls.append(samples.size)
        # speech from 1 s before the end of each block to 2 s into the next one
        n = samples.size / 16000
        spans = []
        if len(calls) > 1:
            spans.append(Span(0.0, 2.0))
        if n >= 10:
            spans.append(Span(n - 1.0, n))
        return spans

    monkeypatch.setattr("qa_engine.vad._detect_block", fake_block)
    block_s = BLOCK_SAMPLES / 16000
    spans = detect_speech(np.zeros(BLOCK_SAMPLES * 2 + 16000 * 30, dtype=np.float32))
    assert len(calls) == 3 and max(calls) == BLOCK_SAMPLES
    assert [(s.start, s.end) for s in spans] == [(block_s - 1, block_s + 2), (2 * block_s - 1, 2 * block_s + 2),
                                                (2 * block_s + 29, 2 * block_s + 30)]
