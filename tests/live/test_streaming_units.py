"""μ-law codec, streaming VAD (same regions as the file VAD) and live rule alerts on synthetic transcripts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa_engine.audio import load_audio
from qa_engine.live import LiveRules, StreamingVad, deinterleave, ulaw_decode, ulaw_encode
from qa_engine.rules import load_pack
from qa_engine.types import Utterance
from qa_engine.vad import detect_speech


def test_ulaw_round_trip_and_deinterleave() -> None:
    codes = np.arange(256, dtype=np.uint8)
    again = np.frombuffer(ulaw_encode(ulaw_decode(codes.tobytes())), dtype=np.uint8)
    assert np.array_equal(again[codes != 0x7F], codes[codes != 0x7F])  # 0x7F and 0xFF are both zero
    tone = (np.sin(np.arange(800) / 8000 * 2 * np.pi * 440) * 20000).astype(np.int16)
    assert np.abs(ulaw_decode(ulaw_encode(tone)).astype(int) - tone).max() < 700
    frame = ulaw_encode(np.stack([tone, -tone], axis=1).reshape(-1))
    pcm = deinterleave(frame, 2)
    assert pcm.shape == (2, 800) and np.array_equal(pcm[0], -pcm[1])
    with pytest.raises(ValueError, match="whole number"):
        deinterleave(frame[:-1], 2)


def test_streaming_vad_matches_file_vad(call_zh_stereo: Path) -> None:
    audio = load_audio(call_zh_stereo)
    samples = audio.samples[0]
    file_spans = detect_speech(samples)
    vad = StreamingVad()
    segments = []
    for i in range(0, samples.shape[0], 1600):  # 100 ms frames
        segments += vad.feed(samples[i: i + 1600])
    segments += vad.flush()
    assert len(segments) == len(file_spans)
    for seg, span in zip(segments, file_spans, strict=True):
        assert seg.start == pytest.approx(span.start, abs=0.15) and seg.end == pytest.approx(span.end, abs=0.15)
        assert seg.audio.shape[0] == pytest.approx((seg.end - seg.start) * 16000, abs=2)
    assert vad.settled_s == pytest.approx(samples.shape[0] / 16000, abs=0.04)


def _u(start: float, role: str, text: str) -> Utterance:
    return Utterance(start, start + 2.0, role, text, channel=0 if role == "agent" else 1)  # type: ignore[arg-type]


def test_live_rules_alert_once_and_only_when_decided() -> None:
    rules = LiveRules(load_pack("zh-CN"))
    utts = [_u(0.5, "agent", "您好，很高兴为您服务，请问有什么可以帮您？")]
    assert rules.evaluate("c", utts, 16.0) == []  # greeted: no alert after the window
    utts.append(_u(5.0, "customer", "你们这服务太差了，我要投诉"))
    assert rules.evaluate("c", utts, 20.0) == []  # 30 s to apologise have not passed
    utts.append(_u(9.0, "agent", "这个不归我管，你去问别人吧"))
    alerts = rules.evaluate("c", utts, 21.0)
    assert [a.kind for a in alerts] == ["forbidden_phrase"] and alerts[0].severity == "critical"
    alerts = rules.evaluate("c", utts, 40.0)
    assert [a.kind for a in alerts] == ["complaint_without_apology"] and alerts[0].at == 5.0
    assert rules.evaluate("c", utts, 60.0) == []  # each alert once


def test_live_rules_no_greeting_and_apology_in_time() -> None:
    rules = LiveRules(load_pack("zh-CN"), greeting_after_s=10.0)
    utts = [_u(1.0, "agent", "喂"), _u(4.0, "customer", "等了半天才接通，太差了"),
            _u(7.0, "agent", "非常抱歉让您久等了")]
    assert rules.evaluate("c", utts, 9.0) == []
    alerts = rules.evaluate("c", utts, 45.0)
    assert [a.kind for a in alerts] == ["no_greeting"]  # the apology came in time
