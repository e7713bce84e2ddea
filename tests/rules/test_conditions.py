"""``type: condition`` rules: each operator, composition, validation errors, hostile trees, live use."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from qa_engine.errors import PackError
from qa_engine.live.alerts import LiveRules
from qa_engine.rules import parse_pack
from qa_engine.rules.checks.condition import Condition
from qa_engine.rules.pack import Pack, parse_pack_text
from qa_engine.types import Finding

from .conftest import build_transcript


def pack_with(when: Any, *, language: str = "zh-CN", expect: str = "present",
              define: dict[str, Any] | None = None) -> Pack:
    rule: dict[str, Any] = {"id": "cond", "type": "condition", "summary": "条件", "weight": 1,
                            "expect": expect, "when": when}
    if define is not None:
        rule["define"] = define
    doc = {"pack": "t", "version": 1, "language": language, "grades": {"ok": 60, "bad": 0}, "rules": [rule]}
    return parse_pack(doc, "test.yaml")


def run(when: Any, lines: list[Any], *, language: str = "zh-CN", **kw: Any) -> Finding:
    pack = pack_with(when, language=language, **kw)
    return pack.run(build_transcript(lines, language))[0]


def matched(when: Any, lines: list[Any], **kw: Any) -> list[str]:
    return [e.text for e in run(when, lines, **kw).evidence]


ZH_CALL = ["A: 您好，很高兴为您服务", "C: 我的宽带又断了", "A: 请稍等，我帮您查一下", "~15",
           "A: 感谢您的耐心等待", "C: 你们这个服务太差了", "C: 太差了", "A: 实在抱歉", "C: 太差了"]


# --- leaves ---------------------------------------------------------------------------------------------

def test_phrase_uses_sound_alike_matching() -> None:
    assert matched({"phrase": "请稍等"}, ["A: 请烧等一下"]) == ["请烧等一下"]  # homophone, as in other rules
    assert run({"phrase": ["实在抱歉"]}, ZH_CALL).status == "pass"
    assert run({"phrase": ["退款"]}, ZH_CALL).status == "fail"


def test_english_phrase_and_regex() -> None:
    lines = ["A: Thank you for calling, how can I help", "C: my bill is wrong", "A: I am sorry about that"]
    assert run({"phrase": "sorry about that"}, lines, language="en").status == "pass"
    assert matched({"regex": r"\bbill\b"}, lines, language="en") == ["my bill is wrong"]


def test_regex_with_unless() -> None:
    lines = ["A: 这个我不知道", "A: 不知道您方便吗"]
    assert matched({"regex": "不知道"}, lines) == ["这个我不知道", "不知道您方便吗"]
    assert matched({"regex": "不知道", "unless": "不知道您"}, lines) == ["这个我不知道"]


def test_role_and_position() -> None:
    assert matched({"all": [{"role": "customer"}, {"phrase": "太差了"}]}, ZH_CALL) == \
        ["你们这个服务太差了", "太差了", "太差了"]
    assert matched({"all": [{"role": "agent"}, {"position": {"first_turns": 1}}]}, ZH_CALL) == ["您好，很高兴为您服务"]
    assert matched({"all": [{"role": "customer"}, {"position": {"last_turns": 1}}]}, ZH_CALL) == ["太差了"]
    assert matched({"position": {"first_s": 1.0}}, ZH_CALL) == ["您好，很高兴为您服务"]
    assert matched({"position": {"last_s": 0.5}}, ZH_CALL) == ["太差了"]


def test_after_and_before_within_turns_and_seconds() -> None:
    complaint = {"all": [{"role": "customer"}, {"phrase": "太差了"}]}
    apology_after = {"all": [{"phrase": "实在抱歉"}, {"after": {"ref": complaint, "within_turns": 2}}]}
    assert matched(apology_after, ZH_CALL) == ["实在抱歉"]
    apology_after_1 = {"all": [{"phrase": "实在抱歉"}, {"after": {"ref": complaint, "within_turns": 1}}]}
    assert matched(apology_after_1, ZH_CALL) == ["实在抱歉"]  # "太差了" is the turn just before
    before = {"all": [{"role": "agent"}, {"before": {"ref": {"phrase": "感谢您的耐心等待"}, "within_s": 17}}]}
    assert matched(before, ZH_CALL) == ["请稍等，我帮您查一下"]  # 15 s of silence in between
    assert matched({"all": [{"role": "agent"}, {"before": {"ref": {"phrase": "感谢您的耐心等待"},
                                                             "within_s": 5}}]}, ZH_CALL) == []


def test_named_reference() -> None:
    when = {"all": [{"role": "agent"}, {"after": {"ref": "complaint", "within_turns": 3}}]}
    define = {"complaint": {"all": [{"role": "customer"}, {"phrase": "太差了"}]}}
    assert matched(when, ZH_CALL, define=define) == ["实在抱歉"]


def test_repeated() -> None:
    again = {"repeated": {"of": {"phrase": "太差了"}, "min": 3}}
    assert matched(again, ZH_CALL) == ["太差了"]  # the third time (the last utterance)
    assert run({"repeated": {"of": {"phrase": "太差了"}, "min": 4}}, ZH_CALL).status == "fail"
    near = {"repeated": {"of": {"phrase": "太差了"}, "min": 2, "within_turns": 1}}
    assert matched(near, ZH_CALL) == ["太差了"]  # turns 5 and 6 are adjacent; 6 and 8 are not


def test_silence_and_talk_over() -> None:
    assert matched({"silence": {"min_s": 10}}, ZH_CALL) == ["感谢您的耐心等待"]
    assert matched({"silence": {"min_s": 20}}, ZH_CALL) == []
    lines = [["customer", 0, 5, "我说一下我的问题"], ["agent", 3, 6, "您先别说了"], ["customer", 6.5, 8, "好"],
             ["agent", 7.9, 9, "嗯"]]
    assert matched({"talk_over": {"min_s": 1, "by": "agent"}}, lines) == ["您先别说了"]
    assert matched({"talk_over": {"min_s": 0.05, "by": "agent"}}, lines) == ["您先别说了", "嗯"]
    assert matched({"talk_over": {"min_s": 0.5, "by": "customer"}}, lines) == []


# --- composition --------------------------------------------------------------------------------------

def test_any_not_at_least() -> None:
    assert matched({"any": [{"phrase": "实在抱歉"}, {"phrase": "感谢您的耐心等待"}]}, ZH_CALL) == \
        ["感谢您的耐心等待", "实在抱歉"]
    not_agent = {"all": [{"not": {"role": "agent"}}, {"phrase": "宽带"}]}
    assert matched(not_agent, ZH_CALL) == ["我的宽带又断了"]
    two_of = {"at_least": {"n": 2, "of": [{"role": "customer"}, {"phrase": "太差了"}, {"position": {"last_turns": 1}}]}}
    assert matched(two_of, ZH_CALL) == ["你们这个服务太差了", "太差了", "太差了"]
    three_of = {"at_least": {"n": 3, "of": [{"role": "customer"}, {"phrase": "太差了"},
                                            {"position": {"last_turns": 1}}]}}
    assert matched(three_of, ZH_CALL) == ["太差了"]


def test_expect_absent_and_explanation() -> None:
    bad = run({"all": [{"role": "agent"}, {"phrase": "不知道"}]}, ["A: 这个我不知道"], expect="absent")
    assert bad.status == "fail" and "这个我不知道" in bad.explanation and bad.data == {"matched": 1}
    good = run({"all": [{"role": "agent"}, {"phrase": "不知道"}]}, ["A: 好的"], expect="absent")
    assert good.status == "pass" and not good.evidence
    assert run({"phrase": "好"}, [], expect="absent").status == "not_applicable"


# --- validation -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("when", "message"), [
    ({"all": [{"role": "agent"}, {"regex": "(a)\\1"}]}, "when.all[1].regex: invalid RE2"),
    ({"all": [{"role": "boss"}]}, "when.all[0].role: expected agent or customer"),
    ({"any": []}, "when.any: expected a non-empty list"),
    ({"phrase": "x", "role": "agent"}, "when: unexpected field(s) phrase"),
    ({"regex": "x", "unless": "(?=y)"}, "when.unless: invalid RE2"),
    ({"frobnicate": 1}, "when: unknown operator 'frobnicate'"),
    ({"at_least": {"n": 3, "of": [{"role": "agent"}]}}, "when.at_least.n: must be between 1 and 1"),
    ({"after": {"ref": "nope", "within_turns": 2}}, "when.after.ref: 'nope' is not defined"),
    ({"after": {"ref": {"role": "agent"}, "within_turns": 10**12}}, "when.after.within_turns: must be between"),
    ({"repeated": {"of": {"role": "agent"}, "min": 10**9}}, "when.repeated.min: must be between 2 and 1000"),
    ({"silence": {"min_s": float("inf")}}, "when.silence.min_s: expected a number"),
    ({"position": {"first_turns": 2, "last_s": 3}}, "when.position: give exactly one"),
    ({"position": {"first_turns": True}}, "when.position.first_turns: expected a whole number"),
    ({"talk_over": {"min_s": -1}}, "when.talk_over.min_s: must be ≥ 0"),
    ({"phrase": []}, "when.phrase: expected a phrase or a non-empty list"),
    ("agent", "field 'when': Input should be a valid dictionary"),
])
def test_validation_errors_name_the_path(when: Any, message: str) -> None:
    with pytest.raises(PackError) as err:
        pack_with(when)
    assert message in str(err.value)
    assert "test.yaml: rule 'cond'" in str(err.value)


def test_hostile_trees_are_refused() -> None:
    deep: Any = {"role": "agent"}
    for _ in range(50):
        deep = {"not": deep}
    with pytest.raises(PackError, match="nested deeper than 8 levels"):
        pack_with(deep)
    wide = {"any": [{"any": [{"role": "agent"}] * 10}] * 30}  # 331 nodes, within the pack's MAX_PACK_VALUES
    with pytest.raises(PackError, match="more than 200 nodes"):
        pack_with(wide)
    with pytest.raises(PackError, match="more than 50 conditions"):
        pack_with({"any": [{"role": "agent"}] * 51})
    # YAML nested far deeper than the parser's recursion: a clear error, not a crash
    text = yaml.safe_dump({"pack": "t", "version": 1, "language": "zh", "grades": {"ok": 0},
                           "rules": [{"id": "r", "type": "forbidden", "summary": "s", "match": {"phrases": ["x"]}}]})
    text += "x: " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(PackError, match="nested too deeply|invalid YAML"):
        parse_pack_text(text, "up.yaml", allow_aliases=False)


def test_large_call_and_huge_windows_stay_fast() -> None:
    import time

    lines = [f"{'AC'[i % 2]}: 太差了{i}" for i in range(3000)]
    when = {"all": [{"repeated": {"of": {"phrase": "太差了"}, "min": 1000, "within_turns": 10000}},
                    {"after": {"ref": {"role": "customer"}, "within_turns": 10000, "within_s": 86400}}]}
    t0 = time.perf_counter()
    finding = run(when, lines)
    assert finding.status == "pass"
    assert time.perf_counter() - t0 < 5.0


# --- live ------------------------------------------------------------------------------------------------

def test_incremental_marking_and_live_alert() -> None:
    live = pack_with({"all": [{"role": "agent"}, {"phrase": "不知道"}, {"position": {"first_turns": 5}}]},
                     expect="absent")
    assert isinstance(live.checks[0], Condition) and live.checks[0].live
    for when, expect in [({"phrase": "不知道"}, "present"),
                         ({"all": [{"phrase": "不知道"}, {"before": {"ref": {"role": "customer"}}}]}, "absent"),
                         ({"position": {"last_turns": 2}}, "absent")]:
        check = pack_with(when, expect=expect).checks[0]
        assert isinstance(check, Condition) and not check.live
    rules = LiveRules(live)
    transcript = build_transcript(["A: 您好", "C: 我的宽带断了", "A: 这个我不知道"], "zh-CN")
    alerts = rules.evaluate("c1", list(transcript.utterances), 10.0)
    assert [(a.rule_id, a.kind, a.text) for a in alerts] == [("cond", "condition_matched", "这个我不知道")]
    assert rules.evaluate("c1", list(transcript.utterances), 12.0) == []  # each alert once


def test_docs_describe_the_tree() -> None:
    from qa_engine.rules.docs import pack_markdown

    md = pack_markdown(pack_with({"all": [{"role": "agent"}, {"phrase": "不知道"}]}, expect="absent"))
    assert "type `condition`" in md and '"phrase": "不知道"' in md and "Decided live" in md
