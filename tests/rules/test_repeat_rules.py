"""customer_repeat and customer_negative_end: behaviour beyond the fixtures, option validation, evidence."""

from __future__ import annotations

from typing import Any

import pytest

from qa_engine.errors import PackError
from qa_engine.rules import load_pack
from qa_engine.rules.checks.repeat import en_features, zh_features
from qa_engine.rules.pack import parse_pack
from qa_engine.scoring import score_transcript
from qa_engine.text import normalize

from .conftest import build_transcript


def _finding(lines: list[str], language: str, rule: str) -> Any:
    pack = load_pack("zh-CN" if language == "zh" else "en")
    return {f.rule_id: f for f in pack.run(build_transcript(lines, language))}[rule]


def _pack(rule: dict[str, Any]) -> dict[str, Any]:
    return {"pack": "t", "version": "1", "language": "zh", "grades": {"pass": 60, "fail": 0},
            "rules": [{"id": "r", "summary": "s", **rule}]}


def test_polite_rephrasing_of_different_requests_shares_no_content() -> None:
    a, b = (zh_features(normalize(t, "zh")) for t in ("麻烦帮我查一下话费", "麻烦帮我查一下流量"))
    assert a and b and not a & b
    c, d = (en_features(normalize(t, "en")) for t in ("Could you please check my bill?",
                                                      "Could you please check my data allowance?"))
    assert c and d and not c & d


def test_inflections_and_digits() -> None:
    assert en_features("i want a refund") & en_features("i want that refunded")
    assert en_features("when will it ship") & en_features("can you get it shipped")
    assert not zh_features("13812345678") and not en_features("4 4 8 1 2 7")


def test_repeat_failure_quotes_the_repeated_turns_as_evidence() -> None:
    f = _finding(["A: 您好", "C: 我要退货，吹风机坏了", "A: 可以换货", "C: 不换，我要退货", "A: 换货更快",
                  "C: 说了好几遍了，我就要退货"], "zh", "customer_repeat")
    assert f.status == "fail" and f.data["repeats"] == 3 and len(f.evidence) == 3
    assert f.weight == 0 and "3" in f.explanation


def test_two_statements_are_not_enough() -> None:
    f = _finding(["A: Hi", "C: I want a refund for this kettle", "A: Why?", "C: The kettle broke, I want a refund",
                  "A: Ok, done",
                  "C: Thanks"], "en", "customer_repeat")
    assert f.status == "pass" and f.data["repeats"] == 2


def test_negative_end_uses_the_last_substantive_turns() -> None:
    # the bare "嗯" after the angry words is not the customer's last word
    f = _finding(["A: 您好", "C: 你们这服务太差了，浪费我时间", "A: 抱歉", "C: 嗯"], "zh", "customer_negative_end")
    assert f.status == "fail" and f.data["sentiment"] < -0.3 and f.evidence


def test_negative_end_reads_scores_set_by_scoring() -> None:
    t = build_transcript(["A: Hello", "C: This is ridiculous", "A: Sorry, fixed now", "C: Perfect, thank you"], "en")
    report = score_transcript(t, load_pack("en"))
    f = {x.rule_id: x for x in report.findings}["customer_negative_end"]
    assert f.status == "pass" and f.data["sentiment"] > 0


@pytest.mark.parametrize(("rule", "problem"), [
    ({"type": "customer_repeat", "min_repeats": 1}, "min_repeats"),
    ({"type": "customer_repeat", "similarity": 0}, "similarity"),
    ({"type": "customer_repeat", "bogus": 1}, "bogus"),
    ({"type": "customer_negative_end", "threshold": -2}, "threshold"),
    ({"type": "customer_negative_end", "last_turns": 0}, "last_turns"),
])
def test_options_are_validated(rule: dict[str, Any], problem: str) -> None:
    with pytest.raises(PackError, match=problem):
        parse_pack(_pack(rule), "test.yaml")


def test_many_similar_turns_stay_cheap() -> None:
    lines = ["C: 我的宽带又断了，还是上不了网"] * 2000
    f = _finding(lines, "zh", "customer_repeat")  # stops comparing once a group is big enough
    assert f.status == "fail"
