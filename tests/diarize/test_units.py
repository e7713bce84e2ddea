"""Diarization parts without audio: DER, clustering, smoothing, word assignment, roles, pyannote conversion."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa_engine.diarize import SpeakerTurn, detect_agent_speaker, diarization_error, split_by_speaker, word_speakers
from qa_engine.diarize.cluster import agglomerative, viterbi
from qa_engine.diarize.features import log_mel, mel_filterbank
from qa_engine.diarize.voices import check_two_voices, drift, persistence
from qa_engine.rules import load_pack
from qa_engine.transcript import transcript_from_dict, transcript_to_dict
from qa_engine.types import Transcript, Utterance, Word


def test_der_counts_miss_false_alarm_and_confusion() -> None:
    ref = [(0.0, 10.0, "a"), (10.0, 20.0, "b")]
    assert diarization_error(ref, [(0.0, 10.0, "x"), (10.0, 20.0, "y")]).der == 0.0
    one = diarization_error(ref, [(0.0, 20.0, "x")], collar=0.0)
    assert one.confusion == pytest.approx(10.0) and one.der == pytest.approx(0.5)
    late = diarization_error([(0.0, 10.0, "a")], [(0.0, 12.0, "x")], collar=0.25)
    assert late.false_alarm == pytest.approx(1.75) and late.missed == 0.0
    short = diarization_error([(0.0, 10.0, "a")], [(2.0, 10.0, "x")], collar=0.0)
    assert short.missed == pytest.approx(2.0)


def test_mel_filterbank_is_slaney_normalised_triangles() -> None:
    fb = mel_filterbank(16000, 512, 40)
    assert fb.shape == (40, 257) and (fb >= 0).all()
    peaks = fb.argmax(axis=1)
    assert (np.diff(peaks) >= 0).all()  # filters climb in frequency
    tone = np.sin(2 * np.pi * 1000 * np.arange(16000) / 16000).astype(np.float32)
    mel = log_mel(tone)
    assert mel.shape == (1 + (16000 - 512) // 160, 40)
    band = int(mel.mean(axis=0).argmax())
    assert abs(float(np.argmax(fb[band])) * 16000 / 512 - 1000) < 150


def test_agglomerative_finds_two_groups_or_estimates_them() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(16), rng.standard_normal(16)
    emb = np.stack([a + 0.1 * rng.standard_normal(16) for _ in range(6)] +
                   [b + 0.1 * rng.standard_normal(16) for _ in range(4)])
    labels = agglomerative(emb, 2, 0.5)
    assert len(set(labels[:6])) == 1 and len(set(labels[6:])) == 1 and labels[0] != labels[6]
    assert agglomerative(emb, None, 0.5).max() == 1


def test_viterbi_ignores_a_single_noisy_window_but_follows_a_real_change() -> None:
    scores = np.array([[1, 0], [1, 0], [0.4, 0.5], [1, 0], [0, 1], [0, 1], [0, 1]], dtype=float)
    path = viterbi(scores, np.full(len(scores) - 1, 0.35))
    assert path.tolist() == [0, 0, 0, 0, 1, 1, 1]


def _w(start: float, end: float, text: str) -> Word:
    return Word(start, end, text)


def test_words_split_at_the_speaker_change_and_backchannels_keep_their_speaker() -> None:
    turns = [SpeakerTurn(0.0, 2.0, 0), SpeakerTurn(2.0, 2.5, 1), SpeakerTurn(2.5, 4.0, 0), SpeakerTurn(4.2, 6.0, 1)]
    words = [_w(0.1, 0.5, " so"), _w(0.6, 1.9, " tomorrow"), _w(2.05, 2.45, " yeah"), _w(2.6, 3.9, " morning"),
             _w(3.85, 4.3, " then"), _w(4.4, 5.0, " thanks")]
    # "then" is mostly outside every turn (a boundary word): it stays with the running speaker
    assert word_speakers(words, turns) == [0, 0, 1, 0, 0, 1]
    utt = Utterance(0.1, 5.0, "unknown", "so tomorrow yeah morning then thanks", tuple(words), channel=0)
    parts = split_by_speaker([utt], turns)
    assert [(p.speaker, p.text) for p in parts] == [
        ("spk0", "so tomorrow"), ("spk1", "yeah"), ("spk0", "morning then"), ("spk1", "thanks")]
    assert parts[1].start == 2.05 and parts[1].end == 2.45


def _speaker_utts(lines: list[tuple[str, str]]) -> list[Utterance]:
    return [Utterance(float(i), i + 0.9, "unknown", text, speaker=spk) for i, (spk, text) in enumerate(lines)]


@pytest.mark.parametrize(("language", "lines"), [
    ("en", [("spk0", "Hello?"), ("spk1", "Thank you for calling Acme, this is Joe, how can I help you?"),
            ("spk0", "I need to change my booking."), ("spk1", "Sure. Is there anything else I can help you with?"),
            ("spk0", "No, thanks."), ("spk1", "Thanks for calling, goodbye.")]),
    ("zh", [("spk0", "喂"), ("spk1", "您好，很高兴为您服务，请问有什么可以帮您？"), ("spk0", "我想查一下话费"),
            ("spk1", "好的，请问还有什么可以帮您的吗？"), ("spk0", "没有了"), ("spk1", "感谢您的来电，再见")]),
])
def test_agent_is_the_speaker_with_the_packs_agent_phrases(language: str, lines: list[tuple[str, str]]) -> None:
    pack = load_pack(None, language=language)
    decision = detect_agent_speaker(_speaker_utts(lines), language, pack)
    assert decision.agent == "spk1"  # not the one who speaks first
    assert decision.confidence > 0.8 and "agent phrase hit" in decision.reason


def test_no_wording_difference_falls_back_to_the_first_speaker_at_half_confidence() -> None:
    decision = detect_agent_speaker(_speaker_utts([("spk1", "okay"), ("spk0", "okay")]), "en",
                                    load_pack(None, language="en"))
    assert decision.agent == "spk1" and decision.confidence == 0.5


def test_transcript_document_carries_the_agent_speaker_and_stays_compatible() -> None:
    t = Transcript("c", "en", 3.0, (Utterance(0.0, 1.0, "agent", "hi", speaker="spk1"),), agent_channel_reason="x",
                   agent_speaker="spk1", agent_confidence=0.93)
    doc = json.loads(json.dumps(transcript_to_dict(t)))
    assert doc["agent_speaker"] == "spk1" and doc["agent_confidence"] == 0.93
    back = transcript_from_dict(doc)
    assert back.agent_speaker == "spk1" and back.agent_confidence == 0.93
    plain = transcript_to_dict(Transcript("c", "en", 3.0, ()))
    assert "agent_speaker" not in plain  # stereo / older documents unchanged
    assert transcript_from_dict(plain).agent_confidence is None


def test_pyannote_annotation_becomes_speaker_turns_in_order_of_first_words() -> None:
    core = pytest.importorskip("pyannote.core")
    ann = core.Annotation(uri="call")
    ann[core.Segment(3.0, 5.5)] = "SPEAKER_00"
    ann[core.Segment(0.5, 2.8)] = "SPEAKER_01"
    ann[core.Segment(6.0, 7.0)] = "SPEAKER_01"
    ann[core.Segment(5.0, 5.2), "overlap"] = "SPEAKER_01"
    from qa_engine.diarize.pyannote_backend import annotation_to_turns

    turns = annotation_to_turns(ann)
    assert [(t.start, t.end, t.speaker) for t in turns] == [
        (0.5, 2.8, 0), (3.0, 5.5, 1), (5.0, 5.2, 0), (6.0, 7.0, 0)]


def _voice_windows(labels: np.ndarray, gap: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit embeddings around two directions ``gap`` apart (label 0/1), windows every 0.25 s."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal(32)
    other = base + gap * rng.standard_normal(32)
    emb = np.where(labels[:, None] == 0, base, other) + 0.8 * rng.standard_normal((len(labels), 32))
    return emb / np.linalg.norm(emb, axis=1, keepdims=True), np.arange(len(labels)) * 0.25


def test_two_voices_taking_turns_persist_and_pass_the_check() -> None:
    labels = np.repeat(np.arange(10) % 2, 20)  # 5 s turns, alternating (1 s apart: same turn 4 times in 5)
    emb, times = _voice_windows(labels, gap=1.5)
    assert persistence(emb, labels, times) > 0.5
    check = check_two_voices(emb, emb, labels, times, min_evidence=0.8, max_drift=0.35)
    assert not check.one_voice and check.evidence > 0.8


def test_one_voice_split_window_by_window_does_not_persist() -> None:
    labels = np.random.default_rng(1).integers(0, 2, 200)  # the split follows the content, not turns
    emb, times = _voice_windows(labels, gap=0.6)
    assert abs(persistence(emb, labels, times)) < 0.2
    check = check_two_voices(emb, emb, labels, times, min_evidence=0.8, max_drift=0.35)
    assert check.one_voice and "take turns" in check.reason


def test_a_voice_changing_over_the_call_is_drift_not_a_second_speaker() -> None:
    labels = np.repeat([0, 1], 100)  # first half sounds one way, second half another
    emb, times = _voice_windows(labels, gap=0.3)
    assert drift(labels) > 0.7 and drift(np.repeat(np.arange(20) % 2, 10)) < 0.05
    check = check_two_voices(emb, emb, labels, times, min_evidence=0.0, max_drift=0.35)
    assert check.one_voice and "follow time" in check.reason
