"""Per-language decoding settings (issue #17): where they come from, who wins, what is refused. No model loaded."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from qa_engine.asr import (
    BUILTIN_DECODING,
    MODEL_SETTINGS_FILE,
    SAMPLE_RATE,
    AsrOptions,
    RecognisedRegion,
    Recognizer,
    SpeechRegion,
    _Window,
    language_options,
    model_decoding,
)
from qa_engine.errors import ModelError, QaEngineError
from qa_engine.pipeline import pipeline_options

REPO = Path(__file__).resolve().parents[1]


class _RecordingRecognizer(Recognizer):
    """Records the options each language is decoded with (no model)."""

    seen: list[tuple[str, AsrOptions]]

    def __init__(self, options: AsrOptions | None = None, model: Any = None) -> None:
        self.options = options or AsrOptions()
        self.model = model if model is not None else object()
        self.seen = []

    def for_language(self, language: str) -> Recognizer:
        child = super().for_language(language)
        parent = self

        class _Child(_RecordingRecognizer):
            def _recognise(self, regions: Sequence[SpeechRegion],
                           progress: Callable[[float, float], None] | None = None) -> list[RecognisedRegion]:
                parent.seen.append((language, self.options))
                return [RecognisedRegion(r, ()) for r in regions]

        return _Child(child.options, self.model)


def _region(language: str, start: float = 0.0) -> SpeechRegion:
    return SpeechRegion(("k",), start, np.zeros(SAMPLE_RATE, dtype=np.float32), language)


def test_the_bundled_manifest_carries_the_builtin_per_language_block() -> None:
    manifest = yaml.safe_load((REPO / "models" / "whisper-base.yaml").read_text(encoding="utf-8"))
    assert manifest["decoding"] == BUILTIN_DECODING


def test_zh_is_decoded_with_its_own_settings_and_en_with_the_global_ones() -> None:
    base = AsrOptions()
    zh = language_options(base, "zh")
    for key, value in BUILTIN_DECODING["zh"].items():
        assert getattr(zh, key) == value
    assert language_options(base, "en") is base  # English path unchanged


def test_cli_style_settings_still_get_the_zh_block() -> None:
    # the CLI always passes beam_size (default 1): the language's own beam still applies to zh
    options = pipeline_options({"beam_size": 1, "batch_size": 16, "language": "zh", "speakers": 1})
    zh = language_options(options.asr, "zh")
    assert zh.beam_size == BUILTIN_DECODING["zh"].get("beam_size", 1)
    assert language_options(options.asr, "en").beam_size == 1


def test_a_decoding_setting_overrides_the_model_block_field_by_field() -> None:
    options = pipeline_options({"decoding": {"zh": {"beam_size": 3}, "en": {"lead_s": 0.3}}})
    zh = language_options(options.asr, "zh")
    assert zh.beam_size == 3
    for key, value in BUILTIN_DECODING["zh"].items():
        if key != "beam_size":
            assert getattr(zh, key) == value
    assert language_options(options.asr, "en").lead_s == 0.3
    hash(options)  # options stay hashable (frozen)


@pytest.mark.parametrize("decoding, message", [
    ({"zh": {"beem_size": 5}}, "unknown decoding setting"),
    ({"zh": {"device": "cuda"}}, "unknown decoding setting"),
    ({"zh": {"beam_size": "5"}}, "right type"),
    ({"zh": {"pad_silence": 1}}, "right type"),
    ({"zh": {"beam_size": True}}, "right type"),
    ({"zh": 5}, "mapping"),
    ([("zh", 5)], "must map"),
])
def test_bad_decoding_settings_are_refused(decoding: Any, message: str) -> None:
    with pytest.raises(QaEngineError, match=message):
        pipeline_options({"decoding": decoding})


def test_unknown_pipeline_setting_is_still_refused() -> None:
    with pytest.raises(QaEngineError, match="unknown pipeline setting"):
        pipeline_options({"decodings": {}})


def test_a_model_directory_settings_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"")
    (tmp_path / MODEL_SETTINGS_FILE).write_text(
        "name: large-v3-turbo\ndecoding:\n  zh: {beam_size: 2, lead_s: 0.0}\n  yue: {beam_size: 4}\n",
        encoding="utf-8")
    options = AsrOptions(model=str(tmp_path))
    blocks = dict(model_decoding(str(tmp_path)))
    assert dict(blocks["zh"])["beam_size"] == 2
    zh = language_options(options, "zh")
    assert zh.beam_size == 2 and zh.lead_s == 0.0
    assert language_options(options, "yue").beam_size == 4
    # an explicit decoding setting still wins over the directory's file
    assert language_options(replace(options, decoding={"zh": {"beam_size": 1}}), "zh").beam_size == 1


def test_a_bad_model_directory_settings_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"")
    (tmp_path / MODEL_SETTINGS_FILE).write_text("decoding:\n  zh: {beam: 2}\n", encoding="utf-8")
    with pytest.raises(ModelError, match="unknown decoding setting"):
        language_options(AsrOptions(model=str(tmp_path)), "zh")
    other = tmp_path / "other"
    other.mkdir()
    (other / MODEL_SETTINGS_FILE).write_text("beam_size: 2\n", encoding="utf-8")
    with pytest.raises(ModelError, match="decoding"):
        model_decoding(str(other))


def test_recognise_decodes_each_language_with_its_settings() -> None:
    rec = _RecordingRecognizer(AsrOptions(decoding={"zh": {"beam_size": 4}}))
    regions = [_region("zh", 0.0), _region("en", 2.0), _region("zh", 4.0)]
    out = rec.recognise(regions)
    assert [rr.region for rr in out] == regions  # input order kept
    seen = dict(rec.seen)
    assert seen["zh"].beam_size == 4 and seen["en"].beam_size == 1


def test_with_options_decodes_every_language_as_given() -> None:
    # the live tap: greedy, low-latency decoding for every language, whatever the per-language blocks say
    rec = Recognizer(AsrOptions(decoding={"zh": {"beam_size": 5, "lead_s": 0.0}}), model=object())
    live = rec.with_options(word_timestamps=False, fallback=False)
    zh = live.for_language("zh").options
    assert zh.beam_size == 1 and zh.lead_s == AsrOptions().lead_s and zh.pad_to_30s is False
    assert zh.fallback is False and zh.word_timestamps is False
    # blocks passed again apply, except the fields named explicitly
    again = rec.with_options(beam_size=2, decoding={"zh": {"beam_size": 5, "lead_s": 0.0}}).for_language("zh")
    assert again.options.beam_size == 2 and again.options.lead_s == 0.0


def test_silence_padding_pads_audio_not_features() -> None:
    from faster_whisper.feature_extractor import FeatureExtractor

    class _Model:
        feature_extractor = FeatureExtractor()

    rec = Recognizer(AsrOptions(pad_silence=True), model=_Model())
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE)).astype(np.float32)
    win = _Window(("k",), "zh", [(0, 0.0, 2.0)], [tone], 2.0)
    feats = rec._silence_padded_features(win, 3000)
    assert feats.shape == (80, 3000)
    tail = feats[:, 300:]
    # the padded tail is the log-mel floor (silence), not zero-valued features
    assert np.allclose(tail, tail.min()) and tail.min() < -0.3


def test_a_window_ended_early_gets_its_tail_as_a_new_window() -> None:
    rec = Recognizer(AsrOptions(resume_s=2.0, lead_s=0.15), model=object())
    audio = np.arange(8 * SAMPLE_RATE, dtype=np.float32)
    win = _Window(("k",), "zh", [(0, 0.15, 4.0), (1, 4.1, 8.0)], [np.zeros(int(0.15 * SAMPLE_RATE), np.float32),
                                                                   audio[: int(7.85 * SAMPLE_RATE)]], 8.0)
    tail = rec._undecoded_tail(win, [{"start": 0.0, "end": 5.0}])
    assert tail is not None
    assert tail.length == pytest.approx(0.15 + 3.0, abs=1e-3)
    # region 0 ended before the tail: only region 1, its times shifted by the cut (5.0 s -> the lead-in)
    assert [i for i, _, _ in tail.parts] == [1]
    _, w0, w1 = tail.parts[0]
    assert w0 == pytest.approx(4.1 - 5.0 + 0.15) and w1 == pytest.approx(8.0 - 5.0 + 0.15)
    assert rec._undecoded_tail(win, [{"start": 0.0, "end": 6.5}]) is None  # less than resume_s left
    assert rec._undecoded_tail(win, []) is None  # nothing decoded: the lone-region retry's job
