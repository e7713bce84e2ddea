"""Sentiment: lexicon behaviour (negation, intensifiers, sarcasm), range, masking invariance, report fields."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from qa_engine.report import report_to_dict
from qa_engine.rules import load_pack
from qa_engine.scoring import score_transcript
from qa_engine.sentiment import annotate, score_texts, speaker_summary, summary_dict

from .conftest import build_transcript


def test_zh_call_centre_words_negation_intensifiers_and_sarcasm() -> None:
    s = dict(zip(["neutral", "complaint", "thanks", "not_satisfied", "very_unsatisfied", "sarcasm", "no_problem"],
                 score_texts(["我想查一下话费", "我要投诉，你们太慢了", "好的，谢谢", "不太满意",
                              "非常不满意", "呵呵，真是服了", "没问题，谢谢"], "zh"), strict=True))
    assert s["neutral"] == 0.0
    assert s["complaint"] < -0.6 and s["sarcasm"] < -0.6
    assert s["thanks"] > 0.3 and s["no_problem"] > 0.3
    assert -0.7 < s["not_satisfied"] < 0 and s["very_unsatisfied"] < s["not_satisfied"]


def test_en_negation_stays_in_its_clause_and_sarcasm_beats_the_positive_word() -> None:
    polite, not_helpful, sarcasm, yeah_right, not_bad, nothing_else = score_texts(
        ["No, that's all I need, thank you", "not very helpful", "Great, just great.", "Yeah right",
         "It's not bad", "nothing else thanks"], "en")
    assert polite > 0.3 and nothing_else > 0.3  # "no," / "nothing else" do not negate thanks
    assert not_helpful < 0 and sarcasm < -0.5 and yeah_right < -0.5
    assert not_bad > 0


def test_scores_stay_in_range_on_extreme_text() -> None:
    texts = ["投诉" * 500, "谢谢" * 500, "", "12345", "a" * 5000, "ridiculous " * 300, "thanks " * 300]
    for lang in ("zh", "en"):
        for v in score_texts(texts, lang):
            assert -1.0 <= v <= 1.0


def test_offsets_survive_text_that_grows_when_lower_cased() -> None:
    assert score_texts(["İİİ", "太差了"], "zh")[1] == score_texts(["太差了"], "zh")[0] < 0
    assert score_texts(["İstanbul İİ", "terrible"], "en") == [0.0, score_texts(["terrible"], "en")[0]]


def test_a_term_never_reads_into_the_previous_utterance() -> None:
    assert score_texts(["我不", "满意"], "zh")[1] == score_texts(["满意"], "zh")[0] > 0
    assert score_texts(["I am not", "happy"], "en")[1] == score_texts(["happy"], "en")[0] > 0


def test_zh_term_positions_longest_term_and_code_points_past_the_bmp() -> None:
    def alone(text: str) -> float:
        return score_texts([text], "zh")[0]

    squash = [round(x / (x * x + 4.0) ** 0.5, 3) for x in (-2.5, -1.5, 2.0)]
    # the longest term at a position wins and hits do not overlap: 不满意 (not 不满 + 满意); 好的吗 says nothing
    assert [alone("不满意"), alone("坑"), alone("真棒")] == [squash[0], squash[1], round(1.5 * 2.0 / (9 + 4) ** 0.5, 3)]
    assert alone("好的吗") == 0.0 < alone("好的")
    # a one-character term closing the call or a text; a term split across two texts is no term
    assert score_texts(["坑", "好棒"], "zh")[0] == squash[1] and score_texts(["好棒"], "zh")[0] > 0
    assert score_texts(["我要投", "诉"], "zh") == [0.0, 0.0]
    # characters past the BMP (and a lone surrogate) are one character each: the offsets after them hold
    assert score_texts(["😀𠀀太差了", "\ud800谢谢", "𠀀"], "zh") == [alone("太差了"), alone("谢谢"), 0.0]


def test_a_call_scores_as_its_texts_alone() -> None:
    texts = {"zh": ["您好，请问有什么可以帮您？", "我不满意，太差了", "\n不", "满意", "好的吗？好的，谢谢",
                    "一点也不好", "真是服了，呵呵", "", "有点失望", "坑"],
             "en": ["Thank you for calling", "I'm not really happy", "a bit annoying", "sort of confusing",
                    "No, thanks", "great, just great", "", "not\nhappy", "“Terrible” service", "too slow!"]}
    for lang, call in texts.items():
        assert score_texts(call, lang) == [score_texts([t], lang)[0] for t in call]


def test_en_modifiers_one_and_two_words_back() -> None:
    annoying, a_bit, sort_of, not_really = score_texts(
        ["annoying", "a bit annoying", "it is sort of annoying", "not really annoying"], "en")
    assert annoying < a_bit < 0 and sort_of == a_bit  # dampened by one word or by two
    assert not_really > 0  # a negator two words back still flips it


def test_masking_does_not_change_the_score() -> None:
    t = build_transcript(["A: 您好", "C: 我的号码13812345678又被乱扣费了，太过分了", "A: 抱歉", "C: 好的，谢谢"], "zh")
    pack = load_pack("zh-CN")
    masked = score_transcript(t, pack, mask_pii=True)
    raw = score_transcript(t, pack, mask_pii=False)
    assert "*" in masked.transcript.utterances[1].text
    assert [u.sentiment for u in masked.transcript.utterances] == [u.sentiment for u in raw.transcript.utterances]
    # scoring the masked text again gives the same numbers too
    again = annotate(masked.transcript)
    assert [u.sentiment for u in again.utterances] == [u.sentiment for u in raw.transcript.utterances]


def test_report_has_per_utterance_sentiment_and_speaker_summary() -> None:
    t = build_transcript(["A: 您好，请问有什么可以帮您？", "C: 你们太慢了，我要投诉", "A: 非常抱歉，马上处理",
                          "C: 好的，解决了，谢谢"], "zh")
    doc = report_to_dict(score_transcript(t, load_pack("zh-CN")))
    assert all(-1 <= u["sentiment"] <= 1 for u in doc["utterances"])
    customer = doc["analytics"]["sentiment"]["customer"]
    assert customer["start"] < 0 < customer["end"] and customer["trend"] > 0 and customer["turns"] == 2
    assert set(doc["analytics"]["sentiment"]) == {"agent", "customer"}


def test_unscorable_report_still_has_sentiment() -> None:
    t = build_transcript(["C: 喂？有人吗？太差了"], "zh")
    report = score_transcript(t, load_pack("zh-CN"))
    assert not report.scorable
    assert report.transcript.utterances[0].sentiment is not None and report.transcript.utterances[0].sentiment < 0
    assert "agent" not in report.analytics["sentiment"]


def test_speaker_summary_edges() -> None:
    assert speaker_summary([]) is None
    one = speaker_summary([0.5])
    assert one is not None and one.start == one.end == one.mean == 0.5 and one.trend == 0.0
    many = speaker_summary([-0.8, -0.6, -0.4, 0.0, 0.0, 0.0, 0.6, 0.8, 0.7])
    assert many is not None and many.start < 0 < many.end and many.trend > 1
    assert summary_dict(build_transcript([], "en")) == {}


def test_check_json_fills_sentiment_for_every_utterance(tmp_path: Path) -> None:
    doc = {"language": "en", "utterances": [
        {"role": "agent", "start": 0, "end": 2, "text": "Thanks for calling, how can I help?"},
        {"role": "customer", "start": 2.5, "end": 5,
         "text": "This is ridiculous, my card 4111 1111 1111 1111 was charged twice"},
        {"role": "customer", "start": 5.5, "end": 7, "text": "Thanks for nothing."}]}
    path = tmp_path / "call.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "qa_engine.cli", "check", str(path), "--json"], check=True,
                         capture_output=True, text=True).stdout
    report = json.loads(out)
    values = [u["sentiment"] for u in report["utterances"]]
    assert len(values) == 3 and all(-1 <= v <= 1 for v in values)
    assert values[1] < 0 and values[2] < 0
    assert {f["rule_id"] for f in report["findings"]} >= {"customer_repeat", "customer_negative_end"}
