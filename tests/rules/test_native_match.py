"""The native matching modules (qa_engine/native/_match.c, _echo.c, _repeat.c) against their Python references.

Every function is asked the same question as its reference (``Matcher._find_python``, ``Matcher._phrase_hit``,
``Matcher._may_hit_python``, ``repeat.en_features_python``, ``confirm._units_python`` / ``_shares_python``), on the
standard packs with real sentences from the rule fixtures and with generated texts: CJK, Latin, digits, full-width
digits, punctuation, emoji and other astral characters, lone surrogates, empty and very long strings.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz

from qa_engine import native
from qa_engine.rules import load_pack, matching
from qa_engine.rules.checks import confirm, repeat
from qa_engine.rules.matching import EN_STOPWORDS, Matcher, PhraseBook, Prepared, prepare_all
from qa_engine.rules.schema import MatchSpec
from qa_engine.rules.time_limit import Deadline, RulesTimeLimit
from qa_engine.types import Utterance

_match: Any = native.load("_match")
_echo: Any = native.load("_echo")
_repeat: Any = native.load("_repeat")
pytestmark = pytest.mark.skipif(None in (_match, _echo, _repeat),
                                reason="qa_engine.native._match/_echo/_repeat are not built (or turned off)")

FIXTURES = Path(__file__).resolve().parents[2] / "rules" / "fixtures"
PACKS = {lang: load_pack(language=lang) for lang in ("zh", "en")}


def _fixture_texts(family: str) -> list[str]:
    """Every utterance text of the rule fixtures in one language family."""
    texts: list[str] = []
    for path in sorted(FIXTURES.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")).get("cases", []):
            if str(case.get("language", "")).startswith(family):
                for line in case.get("utterances", []):
                    if isinstance(line, str) and ":" in line:
                        texts.append(line.split(":", 1)[1].strip())
                    elif isinstance(line, list) and len(line) == 4:
                        texts.append(str(line[3]))
    return texts


TEXTS = {family: _fixture_texts(family) for family in ("zh", "en")}

# generated text: the scripts and characters the matchers meet, and those they should survive
_ALPHABET = st.one_of(
    st.sampled_from(list("您好请稍等一下不好意思抱歉没有别非无来电话费流量包确认是吧对吗又嗯啊，。？！、 ")),
    st.sampled_from(list("abcdefghijklmnopqrstuvwxyz  '")),
    st.sampled_from(list("0123456789０１２３４５６７８９.,?!-")),
    st.sampled_from(["😀", "𠀀", "𝄞", "\U0010fffd", "\ud800", "\udfff", "\x00", "\t", "\u3000", "é", "ß"]),
)
TEXT = st.text(_ALPHABET, max_size=60)
# words the English matchers know (sorry, hold, confirm ...) mixed with noise, so that hits happen
_EN_WORDS = st.sampled_from("sorry apologize apologise hold on please wait just to confirm you want the plan refund "
                            "refunded charged charge thank for your patience not never dont no i am im hello "
                            "thanks calling anything else help today bill xyz".split())
EN_TEXT = st.lists(st.one_of(_EN_WORDS, st.text(_ALPHABET, min_size=1, max_size=8)), max_size=25).map(" ".join)
ZH_TEXT = st.lists(st.sampled_from(["不好意思", "抱歉", "对不起", "请稍等", "稍等一下", "您好", "很高兴为您服务",
                                    "感谢您的耐心等待", "跟您确认一下", "是吧", "对吗", "没", "不", "又", "投诉",
                                    "太慢了", "报价", "宽带", "一三八", "13812345678", "😀", "𠀀", "\ud800", "，"]),
                   max_size=20).map("".join) | TEXT


def _no_surrogates(text: str) -> str:
    """``text`` without lone surrogates: utterances never hold them (normalising one fails: opencc needs UTF-8)."""
    return "".join(c for c in text if not 0xD800 <= ord(c) <= 0xDFFF)


UTTERANCE_ZH, UTTERANCE_EN = ZH_TEXT.map(_no_surrogates), EN_TEXT.map(_no_surrogates)


def _prepared(texts: list[str], family: str, pack: Any) -> list[Prepared]:
    """``texts`` as one screened call (alternating customer and agent), as CallContext prepares them."""
    utts = tuple(Utterance(float(i), i + 0.5, "customer" if i % 2 else "agent", t) for i, t in enumerate(texts))
    prepared = prepare_all(utts, family)
    pack.book.screen().scan_all(prepared)
    return prepared


def _both_finds(family: str, texts: list[str]) -> Iterator[tuple[Matcher, Prepared, Any, Any]]:
    """Each matcher of the standard pack on each text: the native find's answer and the reference's, each on its
    own fresh copy of the call (find caches on the utterance), asked twice (the second answer from the cache)."""
    pack = PACKS[family]
    native_call, python_call = _prepared(texts, family, pack), _prepared(texts, family, pack)
    for m in pack.book.matchers:
        for a, b in zip(native_call, python_call, strict=True):
            for _ in range(2):
                yield m, a, _match.find(m._find_cfg, m, a), m._find_python(b)


@pytest.mark.parametrize("family", ["zh", "en"])
def test_find_equals_the_reference_on_fixture_sentences(family: str) -> None:
    hits = 0
    for m, p, got, want in _both_finds(family, TEXTS[family]):
        assert got == want, (m.key, p.utt.text)
        hits += got is not None
    assert hits > 50  # the fixtures do hit (a comparison of Nones would prove little)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(UTTERANCE_ZH, min_size=1, max_size=4))
def test_find_equals_the_reference_on_generated_zh(texts: list[str]) -> None:
    for m, p, got, want in _both_finds("zh", texts):
        assert got == want, (m.key, p.utt.text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(UTTERANCE_EN, min_size=1, max_size=4))
def test_find_equals_the_reference_on_generated_en(texts: list[str]) -> None:
    for m, p, got, want in _both_finds("en", texts):
        assert got == want, (m.key, p.utt.text)


@pytest.mark.parametrize("family", ["zh", "en"])
def test_find_falls_back_to_the_reference_on_unscreened_utterances(family: str) -> None:
    pack = PACKS[family]
    utts = tuple(Utterance(float(i), i + 0.5, "agent", t) for i, t in enumerate(TEXTS[family][:40]))
    native_call, python_call = prepare_all(utts, family), prepare_all(utts, family)  # found is None: not scanned
    for m in pack.book.matchers:
        for a, b in zip(native_call, python_call, strict=True):
            assert _match.find(m._find_cfg, m, a) == m._find_python(b)


def _matcher(family: str, phrases: list[str], negate: bool = True, threshold: int = 80) -> Matcher:
    book = PhraseBook(family)
    return Matcher(MatchSpec(phrases=phrases, negate=negate, threshold=threshold), book, 85)


_ZH_PHRASES = ["不好意思", "抱歉", "请您稍等一下", "稍等一下", "来电", "感谢您的耐心等待", "跟您确认一下", "对"]
_EN_PHRASES = ["sorry", "i apologize", "please hold on", "just to confirm", "thank you for your patience", "no"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["zh", "en"]), st.booleans(), st.sampled_from([50, 75, 85, 100]),
       st.one_of(ZH_TEXT, EN_TEXT), st.one_of(ZH_TEXT, EN_TEXT))
def test_phrase_search_equals_the_reference(family: str, negate: bool, threshold: int, a: str, b: str) -> None:
    """Any codes and norm, also of different lengths and with masked ("\\x00") spans: the same best hit."""
    m = _matcher(family, _ZH_PHRASES if family == "zh" else _EN_PHRASES, negate, threshold)
    for codes, norm in ((a, a), (a, b), (b, a), (a.replace("不", "\x00"), a)):
        assert _match.search(m._search_cfg, m.ids, codes, norm, m) == m._phrase_hit(m.ids, codes, norm)


def test_phrase_search_on_homophones_negations_and_whole_words() -> None:
    zh = _matcher("zh", _ZH_PHRASES)
    for text in ("来点", "不来电", "没有来电", "您说稍等一下呀", "别来电", "无来电了"):
        p = _prepared([text], "zh", PACKS["zh"])[0]
        for codes in (p.codes, "\x00" + p.codes[1:]):
            assert _match.search(zh._search_cfg, zh.ids, codes, p.norm, zh) == zh._phrase_hit(zh.ids, codes, p.norm)
    hit = _match.search(zh._search_cfg, zh.ids, *_codes_norm("我们来点一下"), zh)
    assert hit is not None and hit.similarity == matching.HOMOPHONE_SIMILARITY  # 来点 ~ 来电
    codes, norm = _codes_norm("来点烧等一下")  # two homophones of 0.95: the first phrase in the ids' order wins
    hit = _match.search(zh._search_cfg, zh.ids, codes, norm, zh)
    assert hit == zh._phrase_hit(zh.ids, codes, norm) and hit.phrase == "稍等一下"
    en = _matcher("en", _EN_PHRASES)
    for text in ("im sorry", "not sorry", "sorryful", "no sorry at all", "dont please hold on", "a no", "nope"):
        assert _match.search(en._search_cfg, en.ids, text, text, en) == en._phrase_hit(en.ids, text, text)
    assert _match.search(en._search_cfg, en.ids, "sorryful", "sorryful", en) is None


def _codes_norm(text: str) -> tuple[str, str]:
    p = _prepared([text], "zh", PACKS["zh"])[0]
    return p.codes, p.norm


@pytest.mark.parametrize("family", ["zh", "en"])
def test_may_hit_equals_the_reference(family: str) -> None:
    pack = PACKS[family]
    call = _prepared(TEXTS[family], family, pack)
    unscreened = prepare_all(tuple(p.utt for p in call[:5]), family)  # found None: always kept
    kept = 0
    for m in pack.book.matchers:
        for utts in (call, unscreened + call):
            got = _match.may_hit(utts, pack.book._screen, *_plan_args(m))
            assert got == m._may_hit_python(utts)
            kept += len(got)
    assert 0 < kept


def _plan_args(m: Matcher) -> tuple[Any, Any]:
    screen = m.book._screen
    assert screen is not None
    plan = screen.plans[m.key]
    return plan.codes, plan if plan.text else None


@settings(max_examples=300, deadline=None)
@given(st.one_of(EN_TEXT, TEXT, st.sampled_from(TEXTS["en"])))
def test_en_features_equal_the_reference(text: str) -> None:
    for t in (text, text.lower(), text * 40):  # long strings too
        assert _repeat.en_features(t, repeat.EN_STOP_WORDS) == repeat.en_features_python(t)


def test_en_features_stems() -> None:
    for word in ("shipped", "refunded", "charges", "calling", "passes", "rolls", "buzzed", "ing", "sings", "zzzs",
                 "shipping", "connection", "ａｂｃｄｅ", "straße", "naïve", "ok"):
        assert _repeat.en_features(word, repeat.EN_STOP_WORDS) == repeat.en_features_python(word), word


@settings(max_examples=300, deadline=None)
@given(st.one_of(ZH_TEXT, EN_TEXT), st.lists(st.sampled_from(["不", "一下", "my", "order", "", "\x00", "😀"]),
                                            max_size=3), st.booleans())
def test_echo_units_equal_the_reference(codes: str, ignore: list[str], zh: bool) -> None:
    assert _echo.units(codes, tuple(ignore), zh, EN_STOPWORDS) == confirm._units_python(codes, tuple(ignore), zh)


@settings(max_examples=300, deadline=None)
@given(st.one_of(ZH_TEXT, EN_TEXT), st.lists(st.one_of(ZH_TEXT, EN_TEXT), max_size=4), st.integers(1, 7),
       st.booleans())
def test_echo_shares_equal_the_reference(agent: str, customers: list[str], n: int, zh: bool) -> None:
    ignore = ("一下", "please")
    units = confirm._units_python(agent, ignore, zh)
    # customer turns that echo part of the agent's turn, so that sharing happens
    before = [confirm._Said([], confirm._units_python(c + agent[len(agent) // 3:], ignore, zh)) for c in customers]
    assert _echo.shares(units, before, n) == confirm._shares_python(units, before, n)


@settings(max_examples=500, deadline=None)
@given(st.text(st.sampled_from("abcde来电😀\ud800"), max_size=30), st.text(st.sampled_from("abcde来电😀\ud800"),
                                                                        max_size=30), st.integers(0, 100))
def test_fuzzy_bound_never_skips_an_alignment(a: str, b: str, threshold: int) -> None:
    """When the count bound says no, rapidfuzz finds no alignment either (the skip changes no answer)."""
    if not _match.fuzzy_may_reach(a, b, threshold):
        assert fuzz.partial_ratio_alignment(a, b, score_cutoff=threshold) is None


def test_fuzzy_bound_skips_hopeless_pairs() -> None:
    assert not _match.fuzzy_may_reach("abcd", "xyzxyzxyz", 50)
    assert _match.fuzzy_may_reach("abcd", "xxabdcxx", 70)


def test_bad_arguments_raise() -> None:
    m = _matcher("zh", _ZH_PHRASES)
    with pytest.raises(TypeError):
        _match.search((), m.ids, "", "", m)
    with pytest.raises(IndexError):
        _match.search(m._search_cfg, frozenset({10_000}), "来电", "来电", m)
    with pytest.raises(AttributeError):  # as the reference: p.found
        _match.may_hit([object()], None, frozenset(), None)
    with pytest.raises(TypeError):
        _repeat.en_features(b"bytes", frozenset())
    with pytest.raises(ValueError):
        _echo.shares("abc", [], 0)


def _repeat_check(family: str, **params: Any) -> repeat.CustomerRepeat:
    """The standard pack's customer_repeat check, its parameters changed by ``params``."""
    check = next(c for c in PACKS[family].checks if isinstance(c, repeat.CustomerRepeat))
    if params:
        check = type(check).__new__(type(check))
        check.__dict__.update(next(c for c in PACKS[family].checks
                                   if isinstance(c, repeat.CustomerRepeat)).__dict__)
        check.p = check.p.model_copy(update=params)
    return check


_ZH_REQUESTS = ["宽带又断了", "宽带还是断的", "帮我查一下话费", "帮我查一下流量", "我要退款", "退款什么时候到",
                "好的", "嗯", "网速太慢了", "网络很慢", "13812345678"]
_EN_REQUESTS = ["my internet keeps dropping", "the internet dropped again", "i want a refund", "where is my refund",
                "ok", "thanks", "please check my bill", "the bill is wrong", "when will it ship", "it shipped yet"]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["zh", "en"]), st.data(), st.integers(2, 5), st.sampled_from([0.3, 0.5, 1.0]),
       st.integers(1, 3), st.integers(1, 3))
def test_largest_group_equals_the_reference(family: str, data: Any, min_repeats: int, similarity: float,
                                            min_shared: int, min_features: int) -> None:
    requests = _ZH_REQUESTS if family == "zh" else _EN_REQUESTS
    texts = data.draw(st.lists(st.one_of(st.sampled_from(requests), UTTERANCE_ZH if family == "zh" else UTTERANCE_EN),
                               max_size=30))
    call = _prepared(texts, family, PACKS[family])
    check = _repeat_check(family, min_repeats=min_repeats, similarity=similarity, min_shared=min_shared,
                          min_features=min_features)
    assert check._largest_group(call) == check._largest_group_python(call)


@pytest.mark.parametrize("family", ["zh", "en"])
def test_largest_group_on_fixture_sentences(family: str) -> None:
    call = _prepared(TEXTS[family] + (_ZH_REQUESTS if family == "zh" else _EN_REQUESTS) * 2, family, PACKS[family])
    check = _repeat_check(family, min_repeats=50)  # no early stop: every turn is read and grouped
    turns, group = check._largest_group(call)
    assert (turns, group) == check._largest_group_python(call) and len(group) >= 2


@pytest.mark.parametrize("family", ["zh", "en"])
def test_find_checks_the_deadline_as_the_reference(family: str) -> None:
    """Past the call's deadline both raise RulesTimeLimit before an uncached match; before it, both answer."""
    pack = PACKS[family]
    for limit, raises in ((-1.0, True), (3600.0, False)):
        native_call, python_call = _prepared(TEXTS[family], family, pack), _prepared(TEXTS[family], family, pack)
        for p in (*native_call, *python_call):
            p.deadline = Deadline(limit)
        outcomes = []
        for call, find in ((native_call, lambda m, p: _match.find(m._find_cfg, m, p)),
                           (python_call, lambda m, p: m._find_python(p))):
            try:
                outcomes.append([find(m, p) for m in pack.book.matchers for p in call])
            except RulesTimeLimit:
                outcomes.append(None)
        assert outcomes[0] == outcomes[1] and (outcomes[0] is None) == raises


def test_find_scans_the_text_space_when_a_matcher_asks() -> None:
    """zh exact patterns live in the text space, scanned on the first question that needs it (found[2])."""
    pack = PACKS["zh"]
    native_call, python_call = _prepared(TEXTS["zh"], "zh", pack), _prepared(TEXTS["zh"], "zh", pack)
    assert any(p.found is not None and p.found[2] is None for p in native_call)  # not scanned yet
    for m in pack.book.matchers:
        for a, b in zip(native_call, python_call, strict=True):
            assert _match.find(m._find_cfg, m, a) == m._find_python(b)
            assert a.found == b.found  # the same scans, kept on the utterance
    assert any(p.found is not None and p.found[2] is not None for p in native_call)
