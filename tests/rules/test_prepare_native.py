"""The C preparation of a call (qa_engine/native/_prepare.c) against the Python reference it replaces.

Each C function is one step of the reference and answers None exactly where that step's fast path does not apply,
so every test compares both the result and when there is none.  Skipped where the module is not built
(tests/test_native.py requires it where the suite says so).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa_engine import native, text
from qa_engine.rules import matching
from qa_engine.rules.matching import UNSCREENED, MatcherScreen, Prepared
from qa_engine.types import Utterance

from .conftest import pack_strings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_rules  # noqa: E402  (the benchmark's sentences and calls: the traffic the C is for)

C: Any = native.load("_prepare")
pytestmark = pytest.mark.skipif(C is None, reason="qa_engine.native._prepare is not built (or QA_ENGINE_NATIVE=0)")

# the corner cases of every step: numerals and their units (十 alone, 两, 幺, 〇), full width, case, punctuation,
# spaces between digits and around Chinese, digit words (and words ending in one: phone, someone), apostrophes,
# Traditional characters, astral characters (emoji, CJK extension B), lone surrogates, line breaks, NUL
PIECES = list("0123456789０１２３零〇○一幺二两三四五六七八九十百千 -_.,，、·/\t'’`´\n\r\x00") + [
    "one", "Two", "THREE", "five", "Six", "seven", "eight", "nine", "zero", "oh", "Oh", "phone", "someone",
    "ſix", "fiKe", "İ", "ı", "é", "e\u0301", "Ａ", "ｂ", "？", "！", "（", "）", "：", "\u3000", "…", "①", "ﬁ", "²",
    "來電", "再見", "您好", "不知道", "请稍等", "谢谢", "乾", "深沈", "sorry", "don't", "Can't", "help", "a", "x",
    "😀", "𠀀", "\U0001f44d", "\ud800", "\udfff", "\ue000", "\uffff", "Σ", "ß", "ㄱ", "각",
]
pieces = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)
ascii_pieces = st.lists(st.sampled_from([p for p in PIECES if p.isascii()]), max_size=30).map("".join)
any_text = st.one_of(pieces, ascii_pieces, st.text(max_size=40),
                     st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=60))
call_texts = st.lists(any_text, min_size=1, max_size=8)


def _sentences(lang: str) -> list[str]:
    """Real sentences: the benchmark's templates and every string of the standard pack."""
    pools = (bench_rules.ZH_AGENT + bench_rules.ZH_CUSTOMER if lang == "zh"
             else bench_rules.EN_AGENT + bench_rules.EN_CUSTOMER)
    return list(pools) + pack_strings(lang)


def _lines(joined: str | None, count: int) -> list[str] | None:
    """What the C functions answer for a fast path's result: its lines, None when there is none or the number of
    lines is not the number of texts."""
    if joined is None:
        return None
    lines = joined.split("\n")
    return lines if len(lines) == count else None


def _zh_reference(s: str, count: int) -> list[str] | None:
    return _lines(text._zh_fast(text.cn_numerals_to_digits(s)), count)


def _en_reference(s: str, count: int) -> list[str] | None:
    return _lines(text._en_fast(s) if s.isascii() else None, count)


def _zh_native(s: str, count: int) -> list[str] | None:
    return C.zh_lines(s, count, text._zh_units(), text._ZH_SPACE_SIDES)


def _en_native(s: str, count: int) -> list[str] | None:
    return C.en_lines(s, count, text._EN_BYTES, text._EN_SPACE_SIDES)


@settings(max_examples=600, deadline=None)
@given(any_text, st.integers(1, 4))
def test_zh_lines_is_the_fast_path(s: str, count: int) -> None:
    assert _zh_native(s, count) == _zh_reference(s, count)


@settings(max_examples=600, deadline=None)
@given(any_text, st.integers(1, 4))
def test_en_lines_is_the_fast_path(s: str, count: int) -> None:
    assert _en_native(s, count) == _en_reference(s, count)


@settings(max_examples=400, deadline=None)
@given(any_text)
def test_t2s_needed_is_the_table_check(s: str) -> None:
    changed = text._t2s_units()
    if changed is None:
        pytest.skip("opencc is not the checked version: to_simplified has no table")
    units = text._bmp_units(s)
    assert C.t2s_needed(s, changed) == (units is None or bool(changed.take(units).any()))


@settings(max_examples=400, deadline=None)
@given(call_texts, st.sampled_from(["zh", "en"]))
def test_normalize_many_native_equals_python(texts: list[str], lang: str) -> None:
    try:
        want = text._normalize_many_python(texts, lang)
    except UnicodeEncodeError:  # opencc refuses lone surrogates: so must the C path (it calls opencc the same way)
        with pytest.raises(UnicodeEncodeError):
            text.normalize_many(texts, lang)
        return
    assert text.normalize_many(texts, lang) == want


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_real_sentences(lang: str) -> None:
    """The benchmark's and the pack's own sentences, alone and as one call: the C answers (never None here: these
    are the texts the fast paths are for) and equals Python."""
    sentences = _sentences(lang)
    native_lines, reference = (_zh_native, _zh_reference) if lang == "zh" else (_en_native, _en_reference)
    for s in sentences:
        simplified = text.to_simplified(s) if lang == "zh" else s
        assert native_lines(simplified, 1) == reference(simplified, 1), s
    joined = text.to_simplified(text._joined(sentences)) if lang == "zh" else text._joined(sentences)
    assert native_lines(joined, len(sentences)) == reference(joined, len(sentences))
    assert text.normalize_many(sentences, lang) == text._normalize_many_python(sentences, lang)
    rng = random.Random(3)
    calls = [bench_rules.synthetic_call(rng, lang, 80) for _ in range(5)]
    for call in calls:
        texts = [u.text for u in call.utterances]
        simplified = text.to_simplified(text._joined(texts)) if lang == "zh" else text._joined(texts)
        assert native_lines(simplified, len(texts)) is not None
        assert text.normalize_many(texts, lang) == text._normalize_many_python(texts, lang)


@pytest.mark.parametrize(("s", "expected"), [
    ("十", "10"), ("十五", "15"), ("五十", "50"), ("两百", "200"), ("三百零五", "305"), ("一三八", "138"),
    ("幺零零八六", "10086"), ("第三回", "第三回"), ("两三天", "两三天"), ("十十", "1010"), ("幺十", "幺10"),
    ("〇〇七", "007"), ("一千零一夜", "1001夜"), ("百", "百"), ("两", "两"), ("九千九十九十", None),
    ("两千零两十", None), ("十一二三", None), ("一二十三", None), ("三十幺", None), ("千千万万", None),
])
def test_numerals(s: str, expected: str | None) -> None:
    """Chinese numerals read as the regexes read them (None: whatever Python answers)."""
    if expected is not None:
        assert text.cn_numerals_to_digits(s) == expected
    assert _zh_native(s, 1) == [text.cn_numerals_to_digits(s)] == _zh_reference(s, 1)


@pytest.mark.parametrize("s", [
    "Don`t", "don't", "it's 5 o'clock", "a_b", "1 2", "x 1 2 y", "  lead and trail  ", "TAB\there",
    "one two", "phone two", "someone one", "one\ntwo", "one-two", "one  -  oh", "twone two", "one two2",
    "the one", "oh oh", "nine", "zero_one one", "it's one o'clock one two",
])
def test_english_cases(s: str) -> None:
    """Apostrophes, digit gaps, and where English takes the step-by-step path (a digit word that is a token, then
    a digit word after it)."""
    assert _en_native(s, s.count("\n") + 1) == _en_reference(s, s.count("\n") + 1)


def _codes_table_without(chars: str) -> np.ndarray[Any, Any]:
    table = text._CODE_UNITS.copy()
    for ch in chars:
        table[ord(ch)] = 0
    return table


@settings(max_examples=400, deadline=None)
@given(st.lists(any_text.map(lambda s: s.replace("\n", " ")), max_size=6))
def test_sound_lines_are_the_sound_codes(norms: list[str]) -> None:
    reference = text._sound_codes_many_python(norms)  # (fills the table with the hanzi of BMP-only texts)
    assert reference == [text.sound_codes(n) for n in norms]
    got = C.sound_lines(norms, text._CODE_UNITS)
    # a text past the BMP (or with a lone surrogate) takes Python's path character by character, which leaves the
    # table alone: None then (and the caller takes that path too)
    assert got == reference or (got is None and any(text._bmp_units(n) is None for n in norms))


def test_sound_lines_answer_none_for_a_hanzi_not_looked_up() -> None:
    text.sound_codes("来电")
    table = _codes_table_without("电")
    assert C.sound_lines(["你好", "来电"], table) is None
    assert C.sound_lines(["你好", "来"], table) == [text.sound_codes("你好"), text.sound_codes("来")]
    assert C.sound_lines(["\x00a"], table) == ["\x00a"]  # NUL's code is itself, not "unknown"


def _fields(p: Prepared) -> tuple[Any, ...]:
    return (p.index, p.utt, p.norm, p.codes, p.role, p.candidates, p.cache, p.found, p.deadline)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_prepare_call_equals_python(lang: str) -> None:
    pack = bench_rules.variant_pack(lang, "+conditions")
    screen = pack.book.screen()
    rng = random.Random(8)
    pool = _sentences(lang)
    calls = [bench_rules.synthetic_call(rng, lang, 80).utterances for _ in range(3)]
    calls.append(tuple(Utterance(float(i), i + 1.0, rng.choice(["agent", "customer", "unknown"]),  # type: ignore[arg-type]
                                 rng.choice(pool)) for i in range(60)))
    calls.append(())
    for utts in calls:
        got = matching.prepare_call(utts, lang, screen, None)
        want = matching._prepare_call_python(utts, lang, screen, None)
        assert [list(map(_fields, g)) for g in got] == [list(map(_fields, w)) for w in want]
        assert all(type(p) is Prepared for p in got[0])


def test_prepare_all_and_an_unscreened_call_equal_python() -> None:
    utts = [Utterance(0.0, 1.0, "agent", "您好，很高興為您服務"), Utterance(1.0, 2.0, "customer", "幺三八")]
    native_all = matching.prepare_all(utts, "zh", None)
    assert [_fields(p)[:7] + (p.found,) for p in native_all] == [
        (0, utts[0], "您好很高兴为您服务", text.sound_codes("您好很高兴为您服务"), "agent", None, {}, None),
        (1, utts[1], "138", "138", "customer", None, {}, None)]
    screen = MatcherScreen([], "zh")
    screen.complete = False
    got = matching.prepare_call(utts, "zh", screen, None)
    assert [p.found for p in got[0]] == [UNSCREENED, UNSCREENED]
    assert [list(map(_fields, g)) for g in got] == [
        list(map(_fields, w)) for w in matching._prepare_call_python(utts, "zh", screen, None)]


def test_build_prepared_refuses_a_class_without_the_slots() -> None:
    class NotPrepared:
        pass

    with pytest.raises(TypeError):
        C.build_prepared(NotPrepared, [], [], [], None, None, None, None, None)
    with pytest.raises(ValueError):
        C.build_prepared(Prepared, [Utterance(0.0, 1.0, "agent", "x")], [], [], None, None, None, None, None)


def test_errors_propagate() -> None:
    """A lone surrogate in codes to screen raises str.encode's error (1- and 2-byte texts), a bad table or a bad
    argument a Python error."""
    utt = Utterance(0.0, 1.0, "agent", "x")
    screen = bench_rules.variant_pack("zh", "pack").book.screen()
    for codes in ("a\ud800", "\ue000\ud800", "\U0001f44d\ud800"):
        with pytest.raises(UnicodeEncodeError):
            codes.encode()
        with pytest.raises(UnicodeEncodeError):
            C.build_prepared(Prepared, [utt], [codes], [codes], None, screen, screen.match_codes, None, None)
    with pytest.raises(ZeroDivisionError):
        C.build_prepared(Prepared, [utt], ["a"], ["a"], None, screen, lambda b: 1 / 0, None, None)
    with pytest.raises(ValueError):
        C.zh_lines("x", 1, np.zeros(5, dtype=np.uint16), text._ZH_SPACE_SIDES)
    with pytest.raises(TypeError):
        C.sound_lines(["a", 3], text._CODE_UNITS)


def test_very_long_texts() -> None:
    zh = ("您好一二三四五十 六百 ABC " * 20_000) + "\n" + ("好的 " * 50_000)
    assert _zh_native(zh, 2) == _zh_reference(zh, 2)
    en = ("Hello, it's the phone-on  two " * 20_000) + "\n" + ("Okay... " * 50_000)
    assert _en_native(en, 2) == _en_reference(en, 2)
    assert _en_native(en.replace("two", "too"), 2) == _en_reference(en.replace("two", "too"), 2) is not None


def test_threads_get_the_same_results() -> None:
    """The service checks calls in several threads: the C holds no state of its own across calls (the RE2 match
    releases the GIL in the middle of building a call's objects)."""
    from concurrent.futures import ThreadPoolExecutor

    work = []
    for lang in ("zh", "en"):
        screen = bench_rules.variant_pack(lang, "pack").book.screen()
        rng = random.Random(21)
        work += [(bench_rules.synthetic_call(rng, lang, 40).utterances, lang, screen) for _ in range(6)]

    def run(item: tuple[Any, str, MatcherScreen]) -> list[list[tuple[Any, ...]]]:
        return [list(map(_fields, g)) for g in matching.prepare_call(item[0], item[1], item[2], None)]

    want = [[list(map(_fields, g)) for g in matching._prepare_call_python(u, lang, s, None)] for u, lang, s in work]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(5):
            assert list(pool.map(run, work)) == want
