"""Pack patterns run on RE2 (linear time): catastrophic patterns are harmless, unsupported ones refused, and the
rules of one call stop at their time limit."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from qa_engine.errors import PackError
from qa_engine.rules import RulesTimeLimit, parse_pack, rules_time_limit
from qa_engine.rules.matching import Matcher, PhraseBook, prepare
from qa_engine.rules.safe_regex import PatternError, compile_user_pattern, to_re2_syntax
from qa_engine.rules.schema import MatchSpec
from qa_engine.scoring import score_transcript
from qa_engine.types import Transcript, Utterance

PACKS = Path(__file__).parents[2] / "rules" / "packs"


def _pack_doc(name: str = "en") -> dict:
    doc: dict = yaml.safe_load((PACKS / f"{name}.yaml").read_text(encoding="utf-8"))
    return doc


def _forbidden(doc: dict) -> dict:
    rule: dict = next(r for r in doc["rules"] if r["id"] == "forbidden_phrases")
    return rule


def _utt(text: str, role: str = "agent", start: float = 0.0) -> Utterance:
    return Utterance(start=start, end=start + 1.0, role=role, text=text)  # type: ignore[arg-type]


def test_catastrophic_pattern_is_linear() -> None:
    doc = _pack_doc()
    _forbidden(doc)["match"]["patterns"] = ["(a+)+$", "(x|x)*y", "(a|aa)*c"]
    pack = parse_pack(doc, "hostile")
    transcript = Transcript("c1", "en", 10.0, (_utt("hello " + "a" * 5000 + "!"), _utt("x" * 3000, start=2.0)))
    t0 = time.perf_counter()
    report = score_transcript(transcript, pack)
    assert time.perf_counter() - t0 < 1.0
    assert report.findings


@pytest.mark.parametrize(("pattern", "hint"), [
    (r"(a)\1", "backreference"),
    (r"(?<!please )hold", "lookbehind"),
    (r"hold(?! on)", "negative lookahead"),
    (r"(?=x)x", "lookahead"),
    (r"a++", "possessive"),
    ("(unclosed", "missing"),
])
def test_unsupported_patterns_are_refused_naming_rule_and_pattern(pattern: str, hint: str) -> None:
    doc = _pack_doc()
    _forbidden(doc)["match"]["allow_patterns"] = [pattern]
    with pytest.raises(PackError) as err:
        parse_pack(doc, "upload")
    message = str(err.value)
    assert "rule 'forbidden_phrases'" in message and "match.allow_patterns" in message
    assert repr(pattern) in message and "regular expression" in message and hint in message


def test_python_class_meanings_kept() -> None:
    assert compile_user_pattern(r"\d+").search("订单１２３") is not None  # full-width digits are digits
    assert compile_user_pattern(r"^\w+$").search("您好abc_1") is not None  # hanzi are word characters
    assert compile_user_pattern(r"[\d二三]+").search("第二3次").group(0) == "二3"
    assert compile_user_pattern(r"end\Z").search("the end") is not None
    assert to_re2_syntax(r"[]\d]\\d") == r"[]\p{Nd}]\\d"
    with pytest.raises(PatternError):
        compile_user_pattern(r"(?x) a b")


def test_zh_sound_code_patterns_on_re2() -> None:
    book = PhraseBook("zh")
    m = Matcher(MatchSpec(patterns=["稍(等|候)", "工号\\d+"], exact_patterns=["^您好"]), book, 85)
    hit = m.find(prepare(0, _utt("请您烧等一下"), "zh"))  # 烧 ~ 稍: homophone via private-use sound codes
    assert hit is not None and hit.phrase == "烧等"
    assert m.find(prepare(1, _utt("我的工号1234"), "zh")) is not None
    assert m.find(prepare(2, _utt("您好，请讲"), "zh")) is not None


def test_bundled_rewrites_keep_their_meaning() -> None:
    en = parse_pack(_pack_doc("en"), "en")
    zh = parse_pack(_pack_doc("zh-CN"), "zh")

    def status(pack: object, text: str, language: str) -> str:
        transcript = Transcript("c", language, 5.0, (_utt(text),))
        with rules_time_limit(None):
            findings = pack.run(transcript)  # type: ignore[attr-defined]
        return str(next(f.status for f in findings if f.rule_id == "forbidden_phrases"))

    assert status(en, "sorry i cant say", "en") == "fail"
    assert status(en, "i cant say if you will get it today", "en") == "pass"
    assert status(zh, "这个你去问别人吧", "zh") == "fail"
    assert status(zh, "好的我去问别人马上回复您", "zh") == "pass"


def test_rules_stop_at_the_time_limit() -> None:
    pack = parse_pack(_pack_doc(), "en")
    transcript = Transcript("long", "en", 4000.0, tuple(_utt(f"turn {i} please hold on", start=float(i))
                                                         for i in range(4000)))
    with pytest.raises(RulesTimeLimit, match=r"longer than 0.001 s.*RULES_TIME_LIMIT_S"):
        pack.run(transcript, time_limit_s=0.001)
    with rules_time_limit(0.001), pytest.raises(RulesTimeLimit):
        score_transcript(transcript, pack)
    assert pack.run(transcript, time_limit_s=None)  # no limit: finishes


@pytest.mark.parametrize("pattern", ["b+", "x*", r"\d+", "您好|你好", "", "a|", r"\b", "(a)(b)?", "[^a]"])
def test_match_spans_are_finditers(pattern: str) -> None:
    """The rules' fast span iterator finds what re2's own finditer finds (multi-byte text and empty matches too)."""
    from qa_engine.rules.safe_regex import compile_user_pattern, match_spans

    compiled = compile_user_pattern(pattern)
    for text in ("abbc", "", "您好abc你好", "x1x22", "aaaa bb", "ab 您ab", "\U0001f600b", "b您bb您好b\nbb"):
        assert list(match_spans(compiled, text)) == [m.span() for m in compiled.finditer(text)]
