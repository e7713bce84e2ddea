"""Normalisation and pinyin-aware fuzzy matching."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa_engine import text
from qa_engine.rules.matching import Matcher, PhraseBook, prepare
from qa_engine.rules.schema import MatchSpec
from qa_engine.text import (
    asr_language,
    cn_numerals_to_digits,
    language_family,
    normalize,
    sound_codes,
    supported_language,
    to_simplified,
)
from qa_engine.types import Utterance


@pytest.mark.parametrize(("tag", "code", "family"), [
    ("zh", "zh", "zh"), ("zh-CN", "zh", "zh"), ("zh_TW", "zh", "zh"), ("ZH-Hant-TW", "zh", "zh"),
    ("cmn", "zh", "zh"), ("cmn-Hans-CN", "zh", "zh"), ("chi", "zh", "zh"), ("Chinese", "zh", "zh"),
    ("zho", "zh", "zh"), (" zh-cn ", "zh", "zh"),
    ("yue", "yue", "zh"), ("yue-HK", "yue", "zh"), ("zh-yue", "yue", "zh"), ("zh_YUE", "yue", "zh"),
    ("en", "en", "en"), ("en-US", "en", "en"), ("EN_gb", "en", "en"), ("ja-JP", "ja", "en"), ("fr", "fr", "en"),
    ("auto", "auto", "en"), ("AUTO", "auto", "en"),
    (None, "zh", "en"), ("", "zh", "en"), ("  ", "zh", "en"),
])
def test_asr_language_and_family(tag: str | None, code: str, family: str) -> None:
    assert asr_language(tag) == code
    assert language_family(tag) == family


def test_asr_language_default_only_for_a_missing_tag() -> None:
    assert asr_language(None, default="en") == "en"
    assert asr_language("", default="auto") == "auto"
    assert asr_language("zh-CN", default="en") == "zh"


@pytest.mark.parametrize(("tag", "code"), [
    ("zh", "zh"), ("zh-CN", "zh"), ("cmn-Hans-CN", "zh"), ("Chinese", "zh"), (" en-US ", "en"), ("EN_gb", "en"),
    ("xx-unknown", None), ("fr-FR", None), ("yue", None), ("auto", None), ("", None), ("  ", None),
    ("zh" + "x" * 10_000, None), ("zh CN", None), ("en-US-a-b-c-d-e", None),
])
def test_supported_language(tag: str, code: str | None) -> None:
    """Only what the service transcribes and scores; a missing tag is not silently Mandarin here."""
    assert supported_language(tag) == code


def test_traditional_to_simplified() -> None:
    assert to_simplified("感謝您的來電，請稍等") == "感谢您的来电，请稍等"
    assert to_simplified("plain ascii") == "plain ascii"


@pytest.mark.parametrize(("raw", "expected"), [
    ("ＡＢＣ１２３，您好！", "abc123您好"),           # full width -> half width, punctuation dropped
    ("您好，很高興為您服務。", "您好很高兴为您服务"),  # t2s
    ("我的号码是一三八 一二三四 五六七八", "我的号码是13812345678"),
    ("幺零零八六", "10086"),
    ("三百零五块", "305块"),
    ("这是第三回了", "这是第三回了"),                # single numerals stay words
])
def test_normalize_zh(raw: str, expected: str) -> None:
    assert normalize(raw, "zh") == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("Thank you for calling, I'm Joe!", "thank you for calling im joe"),
    ("my number is five five five one two three four", "my number is 5551234"),
    ("call 555 1234", "call 5551234"),
    ("ＨＥＬＬＯ", "hello"),
])
def test_normalize_en(raw: str, expected: str) -> None:
    assert normalize(raw, "en") == expected


def test_cn_numerals() -> None:
    assert cn_numerals_to_digits("一三八") == "138"
    assert cn_numerals_to_digits("一下") == "一下"


@pytest.mark.parametrize(("a", "b"), [("来电", "来点"), ("再见", "在见"), ("服务", "服物"), ("归", "规")])
def test_homophones_share_sound_codes(a: str, b: str) -> None:
    assert sound_codes(a) == sound_codes(b)


def test_different_sounds_differ() -> None:
    assert sound_codes("来电") != sound_codes("再见")


def _match(phrase: str, text: str, family: str, threshold: int = 85) -> float | None:
    book = PhraseBook(family)
    matcher = Matcher(MatchSpec(phrases=[phrase]), book, threshold)
    hit = matcher.find(prepare(0, Utterance(0, 1, "agent", text), family))
    return None if hit is None else hit.similarity


def test_pinyin_fuzzy_zh() -> None:
    assert _match("感谢您的来电", "好的，感谢您的来点，在见", "zh") == pytest.approx(0.95)
    assert _match("感谢您的来电", "感谢您的来电", "zh") == 1.0
    assert _match("感谢您的来电", "您好请问有什么事", "zh") is None


def test_character_fuzzy_zh_tolerates_one_wrong_character() -> None:
    sim = _match("很高兴为您服务", "您好很高心为您服务", "zh", threshold=80)
    assert sim is not None and 0.8 <= sim < 1.0


def test_token_fuzzy_en() -> None:
    sim = _match("thank you for calling", "ok thank you for colling acme", "en")
    assert sim is not None and sim >= 0.85
    assert _match("thank you for calling", "you will call us", "en") is None


def test_en_matches_whole_words_only() -> None:
    assert _match("bye", "goodbye", "en") is None
    assert _match("bye", "ok bye now", "en") == 1.0


def test_short_utterance_does_not_match_long_phrase() -> None:
    assert _match("有没有搞错", "没有", "zh") is None


def test_allow_list_blanks_polite_use() -> None:
    book = PhraseBook("zh")
    m = Matcher(MatchSpec(phrases=["不知道"], allow=["不知道您"]), book, 85)
    assert m.find(prepare(0, Utterance(0, 1, "agent", "不知道您方便吗"), "zh")) is None
    assert m.find(prepare(1, Utterance(0, 1, "agent", "不知道您方便吗？我也不知道"), "zh")) is not None


def test_patterns_match_homophones() -> None:
    book = PhraseBook("zh")
    m = Matcher(MatchSpec(patterns=["稍(等|候)"]), book, 85)
    assert m.find(prepare(0, Utterance(0, 1, "agent", "请烧等"), "zh")) is not None


# --- fast paths of normalize_many and to_simplified -------------------------------------------------------

def test_t2s_skip_covers_every_key_t2s_changes(tmp_path: Path) -> None:
    """Every key of the installed t2s dictionaries that t2s changes holds a character of the skip table (or one
    outside the Basic Multilingual Plane, whose text is always converted)."""
    import opencc

    changed = text._t2s_units()
    if changed is None:
        pytest.skip("skip table not built for this opencc version")
    share = Path(opencc.__file__).parent / "clib" / "share" / "opencc"
    tool = Path(opencc.__file__).parent / "clib" / "bin" / "opencc_dict"
    if not tool.exists():
        pytest.skip("opencc_dict not installed")
    config = json.loads((share / "t2s.json").read_text(encoding="utf-8"))

    def files(d: dict[str, object]) -> list[str]:
        inner = d.get("dicts")
        return [f for x in inner for f in files(x)] if isinstance(inner, list) else [str(d["file"])]

    dicts = [f for step in (*config.get("normalization", []), *config["conversion_chain"]) for f in files(step["dict"])]
    assert "TSPhrases.ocd2" in dicts
    for name in dicts:
        out = tmp_path / f"{name}.txt"
        subprocess.run([str(tool), "-i", str(share / name), "-o", str(out), "-f", "ocd2", "-t", "text"], check=True)
        for line in out.read_text(encoding="utf-8").splitlines():
            key, values = line.split("\t")
            if values.split(" ")[0] != key:
                assert any(ord(c) > 0xFFFF or changed[ord(c)] for c in key), (name, key)


@pytest.mark.parametrize("raw", ["深沈", "打坏了", "回覆您", "感謝您的來電", "什么都没有", "坏了", "丽"])
def test_to_simplified_agrees_with_opencc(raw: str) -> None:
    assert to_simplified(raw) == text._converter().convert(raw)


_BMP = st.characters(max_codepoint=0xD7FF) | st.characters(min_codepoint=0xE000, max_codepoint=0xFFFF)
_ZH_PIECES = st.sampled_from(["一三八", "十五", "两千", "幺零", "○", "〇", " ", "  ", "，", "_", "Ａ", "ﬁ", "Σ", "İ",
                              "5 5", "a b", "\n", "您好", "e\u0301", "\u1100\u1161", "ㄱ", "①"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(_BMP, _ZH_PIECES), max_size=30).map("".join))
def test_zh_fast_path_agrees_with_the_steps(s: str) -> None:
    fast = text._zh_fast(text.cn_numerals_to_digits(s))
    if fast is not None:
        assert fast.split("\n") == [x.strip() for x in text._zh_steps(s).split("\n")]


def test_zh_fast_path_takes_plain_mandarin() -> None:
    assert text._zh_fast("您好，请问有什么可以帮您？\n号码是 138 1234") == "您好请问有什么可以帮您\n号码是1381234"


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.characters(max_codepoint=127), st.sampled_from(
    ["one two", "five", " ", "  ", ", ", "5 5", "don't", "_", "\n", "Oh", "nine-nine", "phone"])), max_size=30)
    .map("".join))
def test_en_fast_path_agrees_with_the_steps(s: str) -> None:
    fast = text._en_fast(s)
    if fast is not None:
        assert fast.split("\n") == [x.strip() for x in text._en_steps(s).split("\n")]
