"""μ-law codec, streaming VAD (same regions as the file VAD) and live rule alerts on synthetic transcripts."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from qa_engine.asr import RecognisedRegion, Recognizer, SpeechRegion
from qa_engine.audio import load_audio
from qa_engine.channels import BLEED_MARGIN_DB, drop_bleed, is_bleed
from qa_engine.live import (
    LiveCall,
    LiveRules,
    LiveTranscriber,
    StreamingVad,
    UtteranceJob,
    deinterleave,
    ulaw_decode,
    ulaw_encode,
)
from qa_engine.live.call import GATE_FRAME_S
from qa_engine.live.segmenter import Segment
from qa_engine.rules import load_pack
from qa_engine.transcript import utterance_from_words
from qa_engine.types import Span, Utterance, Word
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


class _ScriptedRecognizer(Recognizer):
    """No model: words for regions whose length is listed in ``hears`` (what the scheduler does is under test)."""

    def __init__(self, name: str, hears: set[float], log: list[tuple[str, float, int]],
                 waiting: Callable[[], int]) -> None:
        self.name, self.hears, self.log, self.waiting = name, hears, log, waiting

    def recognise(self, regions: Sequence[SpeechRegion]) -> list[RecognisedRegion]:
        out = []
        for r in regions:
            length = round(r.end - r.start, 1)
            self.log.append((self.name, length, self.waiting()))
            words = (Word(r.start, r.end, self.name, 1.0),) if length in self.hears else ()
            out.append(RecognisedRegion(r, words))
        return out


@pytest.mark.parametrize("busy", [False, True])
def test_failed_long_utterance_gets_a_second_chance_only_when_idle(busy: bool) -> None:
    log: list[tuple[str, float, int]] = []
    done: list[tuple[float, tuple[Word, ...]]] = []
    finished = threading.Event()
    transcriber: LiveTranscriber

    def waiting() -> int:
        return len(transcriber._queue)

    greedy = _ScriptedRecognizer("greedy", {1.0}, log, waiting)  # greedy decoding fails on 3 s and 1.5 s
    second = _ScriptedRecognizer("fallback", {3.0, 1.5}, log, waiting)
    transcriber = LiveTranscriber(lambda: greedy, second_chance=lambda: second, batch_size=1,
                                  second_chance_min_s=2.0)

    def on_words(job: UtteranceJob, words: tuple[Word, ...]) -> None:
        done.append((round(job.segment.end - job.segment.start, 1), words))
        if len(done) == 4:
            finished.set()

    def job(seconds: float) -> UtteranceJob:
        audio = np.zeros(int(seconds * 16000), dtype=np.float32)
        return UtteranceJob(Segment(0.0, seconds, seconds, audio), 0, "zh", 0.0, on_words, time.monotonic())

    if busy:  # the transcriber has been decoding for the whole busy window: no room for slow fallbacks
        transcriber._busy.append((time.monotonic() - 30.0, time.monotonic() + 30.0))
    with transcriber._cond:  # queue everything before the thread picks anything up
        for seconds in (3.0, 1.0, 1.5, 1.0):
            transcriber._queue.append(job(seconds))
        transcriber._thread = threading.Thread(target=transcriber._run, daemon=True)
        transcriber._thread.start()
    assert finished.wait(10)
    transcriber.stop()
    # every utterance reported once; the long failed one redone with fallback, the short failed one given up
    heard = {length: [w.word for w in words] for length, words in done}
    assert sorted(length for length, _ in done) == [1.0, 1.0, 1.5, 3.0]
    if busy:  # given up at once: the final scoring redoes it
        assert heard == {3.0: [], 1.5: [], 1.0: ["greedy"]} and all(e[0] == "greedy" for e in log)
    else:  # redone with fallback, last, with nothing else waiting; the short failed one is given up
        assert heard == {3.0: ["fallback"], 1.5: [], 1.0: ["greedy"]}
        assert log[-1] == ("fallback", 3.0, 0) and [e[0] for e in log].count("fallback") == 1


# --- what live and batch share: utterance assembly and the bleed rule ----------------------------


def test_utterance_from_words_zh_simplifies_and_drops_spaces() -> None:
    words = (Word(1.0, 1.4, " 感謝", 0.9), Word(1.4, 1.9, " 您的來電", 0.8), Word(2.0, 2.3, " 123", 0.7))
    utt = utterance_from_words(words, "zh", "agent", 1)
    assert utt.text == "感谢您的来电123"
    assert [w.word for w in utt.words] == [" 感谢", " 您的来电", " 123"]  # words keep their own spacing
    assert [w.probability for w in utt.words] == [0.9, 0.8, 0.7]
    assert (utt.start, utt.end, utt.role, utt.channel, utt.speaker) == (1.0, 2.3, "agent", 1, None)


@pytest.mark.parametrize("language", ["en", "yue"])
def test_utterance_from_words_other_languages_keep_text(language: str) -> None:
    words = (Word(0.0, 0.3, " Thank", 1.0), Word(0.3, 0.5, " you", 1.0), Word(0.5, 0.9, " 來電", 1.0))
    utt = utterance_from_words(words, language, "customer", None)
    assert utt.text == "Thank you 來電" and utt.words == words
    assert (utt.start, utt.end, utt.channel) == (0.0, 0.9, None)


def test_utterance_from_words_needs_a_word() -> None:
    with pytest.raises(ValueError, match="at least one word"):
        utterance_from_words((), "zh", "agent", 0)


def test_is_bleed_needs_a_fifth_of_the_frames_louder_by_the_margin() -> None:
    others = np.full(10, -40.0)
    own = np.full(10, -40.0)
    own[:2] = -40.0 + BLEED_MARGIN_DB + 0.5  # 2 of 10 frames are its own: kept
    assert not is_bleed(own, others)
    own[1] = -40.0 + BLEED_MARGIN_DB  # exactly the margin is not louder: 1 of 10, bleed
    assert is_bleed(own, others)
    assert not is_bleed(own, others, min_own_share=0.1)
    two_others = np.stack([others, np.full(10, -90.0)], axis=1)  # frames x channels: the loudest counts
    assert is_bleed(own, two_others)
    assert not is_bleed(np.zeros(0), np.zeros(0))  # no frames
    assert not is_bleed(own, np.zeros((10, 0)))  # no other channel


def test_is_bleed_agrees_with_drop_bleed_on_random_regions() -> None:
    rng = np.random.default_rng(7)
    energy = rng.normal(-40.0, 8.0, size=(2000, 3)).astype(np.float32)
    spans = {ch: [Span(float(t), float(t) + float(d)) for t, d in zip(rng.uniform(0, 55, 40), rng.uniform(0.1, 4, 40),
                                                                       strict=True)] for ch in range(3)}
    report = drop_bleed(spans, energy, 0.03)
    for ch, regions in spans.items():
        for span in regions:
            f0 = int(span.start / 0.03)
            f1 = max(f0 + 1, int(span.end / 0.03))
            bleed = is_bleed(energy[f0:f1, ch], np.delete(energy[f0:f1], ch, axis=1))
            assert (span in report.dropped[ch]) == bleed and (span in report.kept[ch]) != bleed
    assert sum(map(len, report.dropped.values())) and sum(map(len, report.kept.values()))  # both outcomes occur


class _NoAsr(LiveTranscriber):
    def __init__(self) -> None:
        super().__init__(lambda: _ScriptedRecognizer("none", set(), [], lambda: 0))


def test_live_call_drops_the_other_partys_echo() -> None:
    call = LiveCall("c", ["customer", "agent"], "zh-CN", load_pack("zh-CN"), _NoAsr(), on_event=lambda e: None)
    assert call.language == "zh"
    frames = int(10.0 / GATE_FRAME_S)
    energy = np.full((frames, 2), -70.0, dtype=np.float32)
    energy[int(1.0 / GATE_FRAME_S): int(4.0 / GATE_FRAME_S)] = (-20.0, -46.0)  # customer talks, its echo on agent
    energy[int(5.0 / GATE_FRAME_S): int(9.0 / GATE_FRAME_S)] = (-46.0, -20.0)  # agent talks
    for i in range(0, frames, 10):  # as add_audio stores it: one block per 0.3 s received
        call._energy.append(energy[i: i + 10])
        call._energy_t.append(i * GATE_FRAME_S)
    customer, agent = call.channels

    def seg(t0: float, t1: float) -> Segment:
        return Segment(t0, t1, t1, np.zeros(0, dtype=np.float32))

    assert not call._is_bleed(customer, seg(1.2, 3.9)) and call._is_bleed(agent, seg(1.2, 3.9))
    assert call._is_bleed(customer, seg(5.1, 8.7)) and not call._is_bleed(agent, seg(5.1, 8.7))
