"""Fast unit tests of the ASR and channel helpers (no model loaded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qa_engine.asr import (
    SAMPLE_RATE,
    SpeechRegion,
    drop_repeated_runs,
    is_hallucination,
    pack_windows,
    resolve_device,
    split_long_spans,
)
from qa_engine.channels import dedupe_crosstalk, detect_agent_channel, drop_bleed, gate_crosstalk
from qa_engine.errors import ModelError
from qa_engine.models import resolve_model
from qa_engine.types import Span, Utterance

FRAME_S = 0.03


def _region(key: Any, start: float, dur: float, language: str = "en", value: float = 0.1) -> SpeechRegion:
    return SpeechRegion(key, start, np.full(int(dur * SAMPLE_RATE), value, dtype=np.float32), language)


# --- pack_windows ---------------------------------------------------------------------------


def test_pack_windows_packs_one_key_in_time_order_with_gaps() -> None:
    # given out of order; each region's audio is filled with its own value to trace it
    regions = [_region(0, 6.0, 2.0, value=0.3), _region(0, 0.5, 3.0, value=0.1), _region(0, 4.0, 1.0, value=0.2)]
    windows = pack_windows(regions, window_s=14.0, gap_s=0.3, lead_s=0.0)
    assert len(windows) == 1
    win = windows[0]
    assert [i for i, _, _ in win.parts] == [1, 2, 0]
    (_, a0, a1), (_, b0, b1), (_, c0, c1) = win.parts
    assert a0 == 0.0 and a1 == pytest.approx(3.0)
    assert b0 - a1 == pytest.approx(0.3) and c0 - b1 == pytest.approx(0.3)
    assert win.length == pytest.approx(3.0 + 0.3 + 1.0 + 0.3 + 2.0)
    audio = np.concatenate(win.chunks)
    assert audio.shape[0] == pytest.approx(win.length * SAMPLE_RATE, abs=2)
    for i, w0, w1 in win.parts:  # each part's span in the window holds that region's audio
        seg = audio[int(w0 * SAMPLE_RATE) + 1: int(w1 * SAMPLE_RATE) - 1]
        assert np.all(seg == regions[i].audio[0])
    gap = audio[int(a1 * SAMPLE_RATE) + 1: int(b0 * SAMPLE_RATE) - 1]
    assert gap.size > 0 and np.all(gap == 0.0)


def test_pack_windows_respects_the_window_length_and_starts_new_windows() -> None:
    regions = [_region("a", float(t), 4.0) for t in range(0, 50, 5)]  # 10 regions of 4 s
    windows = pack_windows(regions, window_s=14.0, gap_s=0.3, lead_s=0.3)
    assert len(windows) > 1
    assert all(w.length <= 14.0 for w in windows)
    order = [i for w in windows for i, _, _ in w.parts]
    assert order == list(range(10))  # every region exactly once, in time order
    for w in windows:
        assert w.parts[0][1] == pytest.approx(0.3)  # the lead-in silence


def test_pack_windows_never_mixes_keys_or_languages() -> None:
    regions = [_region((0,), 0.0, 1.0), _region((1,), 0.5, 1.0), _region((0,), 2.0, 1.0),
               _region((0,), 3.0, 1.0, language="zh"), _region(("call", 2), 0.0, 1.0)]
    windows = pack_windows(regions, window_s=30.0)
    for w in windows:
        assert {(regions[i].key, regions[i].language) for i, _, _ in w.parts} == {(w.key, w.language)}
    assert sorted(i for w in windows for i, _, _ in w.parts) == list(range(5))
    assert len(windows) == 4


@pytest.mark.parametrize("lead_s", [0.0, 0.3])
def test_pack_windows_truncates_a_region_longer_than_the_window(lead_s: float) -> None:
    regions = [_region(0, 0.0, 2.0), _region(0, 3.0, 20.0), _region(0, 24.0, 1.0)]
    windows = pack_windows(regions, window_s=14.0, gap_s=0.3, lead_s=lead_s)
    assert all(w.length <= 14.0 + 1e-9 for w in windows)
    long_part = next((w, p) for w in windows for p in w.parts if p[0] == 1)
    win, (_, w0, w1) = long_part
    assert win.parts == [(1, w0, w1)]  # alone in its window
    assert w1 - w0 == pytest.approx(14.0 - lead_s)


def test_split_long_spans_cuts_at_the_quietest_frame() -> None:
    energy = np.full(int(40 / FRAME_S), -20.0)
    energy[int(12.0 / FRAME_S)] = -70.0  # a pause at 12 s
    spans = split_long_spans([Span(1.0, 3.0), Span(4.0, 30.0)], energy, FRAME_S, max_s=13.2)
    assert spans[0] == Span(1.0, 3.0)
    assert spans[1].start == 4.0 and spans[1].end == pytest.approx(12.0, abs=FRAME_S)
    assert spans[-1].end == 30.0
    assert all(s.duration <= 13.2 + 1e-9 for s in spans)
    assert all(a.end == b.start for a, b in zip(spans[1:], spans[2:], strict=False))  # contiguous, no loss


# --- drop_repeated_runs / is_hallucination ----------------------------------------------------


def _words(text: str) -> list[dict[str, Any]]:
    return [{"word": f" {w}", "start": float(i), "end": i + 0.5, "probability": 0.9}
            for i, w in enumerate(text.split())]


def test_drop_repeated_runs_removes_a_reread_run() -> None:
    words = _words("thank you for calling acme support how can I help thank you for calling acme support")
    kept = drop_repeated_runs(words, n=6)
    assert " ".join(w["word"].strip() for w in kept) == "thank you for calling acme support how can I help"
    assert kept == words[:10]
    # a shorter run length catches a shorter re-read; punctuation and case do not hide it
    words = _words("my order is late, it is very late. My order is late")
    assert [w["word"].strip() for w in drop_repeated_runs(words, n=4)] == \
        ["my", "order", "is", "late,", "it", "is", "very", "late."]


def test_drop_repeated_runs_keeps_normal_speech() -> None:
    words = _words("thank you so much for waiting thank you so")  # a 3-word repeat is speech
    assert drop_repeated_runs(words) == words
    zh = [{"word": c, "start": float(i), "end": i + 0.5, "probability": 0.9}
          for i, c in enumerate("好的好的您好谢谢好的好的")]
    assert drop_repeated_runs(zh, n=6) == zh
    assert drop_repeated_runs(_words("a b c")) == _words("a b c")
    assert drop_repeated_runs([]) == []


@pytest.mark.parametrize("text", ["字幕由Amara.org社群提供", "Thanks for watching!", " thank you for watching.",
                                  "请不吝点赞 订阅 转发 打赏支持明镜与点点栏目", "谢谢观看"])
def test_is_hallucination_true(text: str) -> None:
    assert is_hallucination(text)


@pytest.mark.parametrize("text", ["Thank you for calling, goodbye.", "Thanks for waiting.", "您好，很高兴为您服务",
                                  "感谢您的耐心等待", "谢谢", "", "  ", "I watched it, thanks."])
def test_is_hallucination_false(text: str) -> None:
    assert not is_hallucination(text)


# --- channels -------------------------------------------------------------------------------


def _energy(n_frames: int, loud: dict[int, list[tuple[float, float]]], n_ch: int = 2,
            floor: float = -70.0, level: float = -20.0, echo_db: float = 26.0) -> np.ndarray:
    """Per-frame dB: each channel loud in its intervals, with its echo on the other channel(s)."""
    e = np.full((n_frames, n_ch), floor)
    for ch, intervals in loud.items():
        for t0, t1 in intervals:
            f0, f1 = int(t0 / FRAME_S), int(t1 / FRAME_S)
            e[f0:f1, :] = np.maximum(e[f0:f1, :], level - echo_db)
            e[f0:f1, ch] = level
    return e


def test_drop_bleed_keeps_own_speech_and_drops_echo() -> None:
    energy = _energy(400, {0: [(1.0, 4.0)], 1: [(5.0, 9.0)]})
    spans = {0: [Span(1.0, 4.0), Span(5.2, 8.8)], 1: [Span(1.1, 3.9), Span(5.0, 9.0)]}
    report = drop_bleed(spans, energy, FRAME_S)
    assert report.kept == {0: [Span(1.0, 4.0)], 1: [Span(5.0, 9.0)]}
    assert report.dropped == {0: [Span(5.2, 8.8)], 1: [Span(1.1, 3.9)]}


def test_drop_bleed_keeps_a_region_where_both_talk() -> None:
    energy = _energy(400, {0: [(1.0, 4.0)], 1: [(3.0, 6.0)]})  # overlap 3-4 s
    spans = {0: [Span(1.0, 4.0)], 1: [Span(3.0, 6.0)]}
    report = drop_bleed(spans, energy, FRAME_S)
    assert report.kept == spans and report.dropped == {0: [], 1: []}


def test_gate_crosstalk_mutes_the_echo_frames_only() -> None:
    sr, n = 16000, 16000 * 4
    samples = np.full((2, n), 0.5, dtype=np.float32)
    energy = _energy(n // int(FRAME_S * sr), {0: [(0.0, 1.5)], 1: [(2.5, 4.0)]})
    gated = gate_crosstalk(samples, energy, FRAME_S, sr, below_db=20.0, hangover_frames=2)
    assert gated.shape == samples.shape and samples.min() == 0.5  # input untouched
    at = lambda ch, t: float(gated[ch, int(t * sr)])  # noqa: E731
    assert at(0, 0.5) == 0.5 and at(1, 0.5) == 0.0  # ch1 only carries ch0's echo
    assert at(1, 3.0) == 0.5 and at(0, 3.0) == 0.0
    assert at(0, 2.0) == 0.5 and at(1, 2.0) == 0.5  # both silent: nothing to gate
    assert at(1, 1.5 + 0.045) == 0.5  # hangover keeps the frames next to the edge
    mono = np.ones((1, 100), dtype=np.float32)
    assert gate_crosstalk(mono, np.zeros((3, 1)), FRAME_S, sr) is mono


def _utt(start: float, end: float, text: str, channel: int, role: str = "unknown") -> Utterance:
    return Utterance(start, end, role, text, channel=channel)  # type: ignore[arg-type]


def test_dedupe_crosstalk_drops_the_quieter_copy() -> None:
    utts = [_utt(1.0, 3.0, "Is there anything else I can help you with?", 1),
            _utt(1.05, 3.0, "is there anything else i can help you with", 0),
            _utt(4.0, 5.0, "No, that's all.", 0),
            _utt(4.1, 5.0, "Thank you.", 1)]
    loud = {0: np.full(300, -60.0), 1: np.full(300, -20.0)}
    kept = dedupe_crosstalk(utts, loud, FRAME_S)
    assert kept == [utts[0], utts[2], utts[3]]
    loud_other = {0: np.full(300, -20.0), 1: np.full(300, -60.0)}
    assert dedupe_crosstalk(utts, loud_other, FRAME_S) == [utts[1], utts[2], utts[3]]


def test_dedupe_crosstalk_keeps_same_text_at_other_times_or_on_one_channel() -> None:
    utts = [_utt(1.0, 2.0, "Thank you.", 0), _utt(5.0, 6.0, "Thank you.", 1),  # not at the same time
            _utt(8.0, 9.0, "okay okay", 0), _utt(8.5, 9.5, "okay okay", 0)]  # same channel
    loud = {0: np.full(400, -20.0), 1: np.full(400, -20.0)}
    assert dedupe_crosstalk(utts, loud, FRAME_S) == utts


def _by_channel(*channels: list[tuple[float, str]]) -> dict[int, list[Utterance]]:
    return {ch: [_utt(t, t + 1.0, text, ch) for t, text in lines] for ch, lines in enumerate(channels)}


def test_detect_agent_channel_zh() -> None:
    agent = [(0.5, "您好，很高兴为您服务，请问有什么可以帮您？"), (13.0, "好的，请稍等，我帮您查询"),
             (20.0, "请问还有什么可以帮您的吗？")]
    customer = [(6.0, "我想查一下话费"), (24.0, "没有了，谢谢")]
    ch, reason = detect_agent_channel(_by_channel(customer, agent), "zh-CN")
    assert ch == 1 and reason.startswith("detected from wording")
    assert detect_agent_channel(_by_channel(agent, customer), "zh")[0] == 0


def test_detect_agent_channel_en_when_the_customer_speaks_first() -> None:
    customer = [(0.2, "Hello?"), (5.0, "Hi, I'd like to check my order."), (12.0, "Great, thanks.")]
    agent = [(1.0, "Thank you for calling Acme support, this is Joe, how can I help you today?"),
             (8.0, "Let me check that for you."), (14.0, "Is there anything else I can help you with?")]
    ch, reason = detect_agent_channel(_by_channel(customer, agent), "en")
    assert ch == 1, reason
    assert "ch1" in reason and "greeting cue" in reason


def test_detect_agent_channel_falls_back_to_who_speaks_first() -> None:
    ch, reason = detect_agent_channel(_by_channel([(3.0, "okay")], [(1.0, "hmm")]), "en")
    assert ch == 1 and "speaks first" in reason
    ch, _ = detect_agent_channel({0: [], 1: [_utt(2.0, 3.0, "yes", 1)]}, "en")
    assert ch == 1


# --- models / device ------------------------------------------------------------------------


def test_resolve_model_rejects_a_directory_without_model_bin(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelError, match="no model.bin") as exc:
        resolve_model(str(tmp_path))
    assert str(tmp_path) in str(exc.value)


def test_resolve_model_accepts_a_directory_and_names() -> None:
    bundled = resolve_model(None)
    assert bundled.name == "whisper-base" and bundled.files and "model.bin" in bundled.files
    assert resolve_model("whisper-base").name == "whisper-base"
    named = resolve_model("tiny.en")
    assert named.path_or_name == "tiny.en" and named.files is None


def test_resolve_model_accepts_a_model_directory(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"")
    src = resolve_model(str(tmp_path))
    assert src.path_or_name == str(tmp_path) and src.files is None


def test_resolve_device() -> None:
    import ctranslate2

    assert resolve_device("cpu", "auto") == ("cpu", "int8")
    assert resolve_device("cpu", "float32") == ("cpu", "float32")
    with pytest.raises(ModelError, match="unknown device 'tpu'"):
        resolve_device("tpu", "auto")
    if ctranslate2.get_cuda_device_count() > 0:
        pytest.skip("a CUDA device is visible: the no-GPU error cannot be checked here")
    assert resolve_device("auto", "auto") == ("cpu", "int8")
    with pytest.raises(ModelError, match="no CUDA device"):
        resolve_device("cuda", "auto")


def test_drop_repeated_runs_keeps_numbers_read_back_twice() -> None:
    """A customer repeating a number is speech, not Whisper re-reading the window."""
    from qa_engine.asr import drop_repeated_runs

    text = "my number is four seven three nine one four seven three nine one".split()
    words = [{"word": f" {t}", "start": float(i), "end": i + 0.5, "probability": 1.0} for i, t in enumerate(text)]
    assert [w["word"].strip() for w in drop_repeated_runs(words)] == text


def test_pack_windows_balances_windows_instead_of_leaving_a_short_tail() -> None:
    """Greedy filling would give 19 s + 3 s; balanced packing gives two windows of similar length."""
    from qa_engine.asr import pack_windows

    regions = [_region(("a",), 10.0 * i, 2.0) for i in range(11)]  # 22 s of speech in 2 s regions
    windows = pack_windows(regions, window_s=20.0, gap_s=0.0, lead_s=0.0)
    assert len(windows) == 2
    lengths = sorted(w.length for w in windows)
    assert lengths[0] >= 10.0 and lengths[1] <= 12.0
    order = [i for w in windows for i, _, _ in w.parts]
    assert order == list(range(11))  # time order kept across windows


def test_stutter_loops_trigger_the_fallback_but_backchannels_do_not() -> None:
    from qa_engine.asr import _STUTTER, _squash

    assert _STUTTER.search(_squash("好的，按键，按键，按键"))
    assert _STUTTER.search(_squash("no no no no"))
    for text in ("对对对", "4444 5555", "1212121", "thank you thank you thank you", "Hello world"):
        assert not _STUTTER.search(_squash(text)), text


# --- VAD over channels ----------------------------------------------------------------------


def test_detect_speech_channels_matches_one_channel_at_a_time(call_en_stereo: Path) -> None:
    # the channels are detected in parallel threads: same spans as detecting each one alone
    from qa_engine.audio import load_audio
    from qa_engine.vad import VadOptions, detect_speech, detect_speech_channels

    samples = load_audio(call_en_stereo).samples
    options = VadOptions()
    together = detect_speech_channels(samples, options)
    assert sorted(together) == [0, 1]
    for ch in (0, 1):
        alone = detect_speech(samples[ch], options)
        assert alone, "the shipped call has speech on both channels"
        assert together[ch] == alone
    assert together[0] != together[1]  # each channel got its own spans, not a copy
