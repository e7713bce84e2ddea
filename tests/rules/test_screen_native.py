"""The matcher screen's codes space in C (qa_engine/native/_screen.c) against the RE2 set it replaces.

``MatcherScreen.native_codes(codes)`` must find exactly the items ``MatcherScreen.match_codes(codes.encode())`` finds
(sorted: the order of RE2's answer means nothing), and raise what it raises.  Skipped where the module is not built
(tests/test_native.py requires it where the suite says so).
"""

from __future__ import annotations

import random
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa_engine import native
from qa_engine.rules import matching
from qa_engine.rules.safe_regex import to_re2_syntax
from qa_engine.types import Utterance

from .conftest import pack_strings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_rules  # noqa: E402  (the benchmark's sentences, calls and condition rules)

C: Any = native.load("_screen")
pytestmark = pytest.mark.skipif(C is None or native.load("_prepare") is None,
                                reason="qa_engine.native._screen is not built (or QA_ENGINE_NATIVE=0)")

# every whitespace str.split() splits on (the English keys' token edges), and characters around it
WHITESPACE = ["\t", "\n", "\x0b", "\x0c", "\r", "\x1c", "\x1f", " ", "\x85", "\xa0", "\u1680", "\u2000", "\u200a",
              "\u200b", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\ufeff"]
OTHERS = list("0123456789０１２３,.?!，。？！-'") + ["😀", "𠀀", "\U0010ffff", "\ue000", "\uffff", "é", "Σ", "您好",
                                                   "来电", "a", "x", "\x00", "\ud800", "\udfff"]


def _sources() -> list[tuple[matching.MatcherScreen, str, matching.PhraseBook]]:
    """(screen, language, book) of the standard packs, and of them with the benchmark's condition rules."""
    books = [(lang, bench_rules.variant_pack(lang, variant).book)
             for lang in ("zh", "en") for variant in ("pack", "+conditions")]
    return [(book.screen(), lang, book) for lang, book in books]


SOURCES = _sources() if C is not None else []
SCREENS = [screen for screen, _, _ in SOURCES]


def _pieces(index: int) -> list[str]:
    """Fragments of what a screen looks for (its keys, their characters, its patterns' literals), and others."""
    _, _, book = SOURCES[index]
    out = [k.lstrip("<") for k in book.index] + [c for k in book.index for c in k]
    for m in book.matchers:
        for spec in (m.pattern, m.exact_pattern):
            for alts, _ in spec.parts if spec is not None else ():
                out.extend(alts or ())
    return sorted(set(out)) + WHITESPACE + OTHERS


def _reference(screen: matching.MatcherScreen, codes: str) -> list[int] | type[BaseException]:
    try:
        return sorted(screen.match_codes(codes.encode("utf-8")))
    except UnicodeEncodeError:
        return UnicodeEncodeError


def _native(screen: matching.MatcherScreen, codes: str) -> list[int] | type[BaseException]:
    try:
        found: list[int] = screen.native_codes(codes)
        return found
    except UnicodeEncodeError:
        return UnicodeEncodeError


def _codes(lang: str, texts: list[str]) -> list[str]:
    return [p.codes for p in matching.prepare_all([Utterance(0.0, 1.0, "agent", t) for t in texts], lang)]


@pytest.mark.parametrize("index", range(4))
def test_real_sentences(index: int) -> None:
    """The benchmark's calls, its sentences and every string of the pack, as the screen sees them (their codes)."""
    screen, lang, _ = SOURCES[index]
    assert screen.native_codes is not None
    pools = (bench_rules.ZH_AGENT + bench_rules.ZH_CUSTOMER if lang == "zh"
             else bench_rules.EN_AGENT + bench_rules.EN_CUSTOMER)
    texts = list(pools) + pack_strings(lang)
    rng = random.Random(index)
    for _ in range(10):
        texts += [u.text for u in bench_rules.synthetic_call(rng, lang, 80).utterances]
    texts += [" ".join(rng.sample(texts, 5)) for _ in range(200)]  # several sentences, and their seams
    found_any = 0
    for codes in _codes(lang, texts):
        want = _reference(screen, codes)
        assert _native(screen, codes) == want, codes
        found_any += bool(want)
    assert found_any > len(texts) // 2  # (the texts do reach the screen's items)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), index=st.integers(0, 3))
def test_generated_codes(data: st.DataObject, index: int) -> None:
    """Texts made of the screen's own fragments, whitespace of every kind, astral characters, lone surrogates."""
    screen = SCREENS[index]
    pieces = _pieces(index)
    codes = data.draw(st.one_of(st.lists(st.sampled_from(pieces), max_size=40).map("".join),
                                st.lists(st.sampled_from(pieces), max_size=8).map(" ".join),
                                st.text(max_size=30)))
    assert _native(screen, codes) == _reference(screen, codes)


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(st.text(max_size=40), max_size=4), index=st.integers(0, 3))
def test_generated_texts_through_preparation(texts: list[str], index: int) -> None:
    screen, lang, _ = SOURCES[index]
    for codes in _codes(lang, texts):
        assert _native(screen, codes) == _reference(screen, codes)


def test_long_and_empty_texts() -> None:
    for index, screen in enumerate(SCREENS):
        pieces = _pieces(index)
        rng = random.Random(1)
        long = "".join(rng.choice(pieces) for _ in range(50_000))
        for codes in ("", " ", long, long + "\ud800"):
            assert _native(screen, codes) == _reference(screen, codes)


# patterns of every form the expansion reads (anchors, optional parts, classes, counted repeats) and of those it
# leaves to RE2 (gated by their required literals, or not at all)
PATTERNS = [
    "ab", "^ab", "ab$", "^ab$", "( |^)(right|yes)$", "^(and|so) ", "(a|b)(c|d)", "[a-c]x", "[ab]?c", "x(y)?z",
    "(a|bc){1,2}d", "a{2}", "a{1,3}b", "(^a|b$)", "a^b", "a$b", "(a$|b)c", "(^|x)y", "colou?r", "(please )?hold",
    "\\.x", "a\\-b", "a.b", "a.{0,3}b", "\\d+x", "x\\d", "\\bcan\\b", "[^a]b", "(?i)ab", "a+", "a*b", "(a|)b",
    "x?", "^", "$", "a{,2}b", "\\x41b", "(?:ab|cd)e", "thank(s| you).{0,30}(calling|you)", "ab|^cd$|ef",
    # chains: literals with gaps of any characters but a newline (before, between, after)
    ".{3,}(x|y)$", "(so|ok) .{3,}", "a.b.{2,}c", "a.*b", "a.+b", "^a.{0,2}b", "a.{1,2}b$", "(a|b).{0,3}(c|d).{1,}e",
    ".{2}x", "x.{2}", "^(a|b).c", "can.{0,4}(right|yes)$", "a.{2,}", ".a", "a.{0,1}a",
]


def _pattern_screen(patterns: list[str]) -> tuple[Any, Any]:
    """(native, RE2 set) of a codes space of patterns only (no keys)."""
    re2_sources = [to_re2_syntax(p) for p in patterns]
    return matching._native_screen([], "en", re2_sources, patterns), matching._build_set(re2_sources)


@settings(max_examples=300, deadline=None)
@given(patterns=st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=6, unique=True),
       text=st.lists(st.sampled_from(list("abcdexyz .-A\n") + ["can", "right", "yes", "and ", "so ", "hold",
                                                               "thanks", "calling", "colour", "\n", "😀"]),
                     max_size=12).map("".join))
def test_patterns_of_every_form(patterns: list[str], text: str) -> None:
    native_screen, re2_set = _pattern_screen(patterns)
    assert native_screen(text) == sorted(re2_set(text.encode()))


def test_what_expands() -> None:
    assert matching._expansions("( |^)(right|yes)$") == [
        (False, " right", True), (False, " yes", True), (True, "right", True), (True, "yes", True)]
    assert matching._expansions("[a-c]x") == [(False, "ax", False), (False, "bx", False), (False, "cx", False)]
    assert matching._expansions("a^b") == []  # can never match: an item never found
    assert matching._expansions("(a|)b") == [(False, "ab", False), (False, "b", False)]
    assert matching._chain(".{3,}(x|y)$") == ([[(False, "x", True), (False, "y", True)]], [(3, -1)], 0)
    assert matching._chain("a.b.{2,}") == ([[(False, "a", False)], [(False, "b", False)]], [(0, 0), (1, 1)], 2)
    for no_chain in ("ab", "a.{0,2}.b", "^.{0,3}a", "a.{0,2}(b|)", "(?s)a.b", "a\\d.b"):
        assert matching._chain(no_chain) is None, no_chain
    for not_finite in ("a+", "a.b", "\\d", "[^a]", "(?i)ab", "a{,2}b", "\\x41", "x?"):
        assert matching._expansions(not_finite) is None, not_finite


@pytest.mark.parametrize("keys", [["ab", "<abc", "<a", "a", "<", "<<x", "x<", "é", "😀"], ["<ple", "please", "<pl"]])
def test_english_keys(keys: list[str]) -> None:
    """Key items: a whole token (``key``) or a token of two characters more than ``key[1:]`` it starts with."""
    native_screen = matching._native_screen(keys, "en", [], [])
    re2_set = matching._build_set([matching._en_key_pattern(k) for k in keys])
    words = ["ab", "abc", "abcd", "abcde", "a", "<", "<<x", "x<", "é", "😀", "plea", "please", "pleas", "<ple", "pl"]
    rng = random.Random(2)
    for _ in range(3000):
        text = "".join(rng.choice(words + WHITESPACE) for _ in range(rng.randrange(6)))
        assert native_screen(text) == sorted(re2_set(text.encode())), text


def test_errors() -> None:
    assert matching._native_screen(["", "ab"], "en", [], []) is None  # (an empty key: RE2 alone screens)
    screen = SCREENS[0]
    with pytest.raises(TypeError):
        screen.native_codes(b"abc")
    with pytest.raises(TypeError):
        screen.native_codes()
    with pytest.raises(UnicodeEncodeError):
        screen.native_codes("\ue000\ud800")
    with pytest.raises(ValueError):
        C.Screen([("a", 5, 0)], 3, None, [], [], [], [])
    with pytest.raises(ValueError):  # a gate of a pattern the RE2 set does not have
        C.Screen([("a", 1, 32)], 3, lambda b: [], [0], [1], [], [])
    with pytest.raises(TypeError):
        C.Screen([("", 0, 0)], 3, None, [], [], [], [])
    with pytest.raises(ZeroDivisionError):  # the RE2 set's error reaches the caller
        C.Screen([("a", 0, 0)], 2, lambda b: 1 / 0, [1], [0], [], [])("a")
    with pytest.raises(ValueError):  # an index the RE2 set cannot answer
        C.Screen([], 2, lambda b: [3], [1], [0], [], [])("a")
    with pytest.raises(ValueError):  # a segment of no chain
        C.Screen([("a", 0, 64)], 2, None, [], [], [], [])
    with pytest.raises(ValueError):  # a chain past its segments
        C.Screen([("a", 0, 64)], 2, None, [], [], [(0, 0, 2, 0)], [(0, 0)])


def test_threads_get_the_same_results() -> None:
    screen = SCREENS[1]
    rng = random.Random(4)
    texts = _codes("zh", [u.text for _ in range(5) for u in bench_rules.synthetic_call(rng, "zh", 80).utterances])
    want = [_reference(screen, t) for t in texts]
    with ThreadPoolExecutor(4) as pool:
        for got in pool.map(lambda _: [_native(screen, t) for t in texts], range(8)):
            assert got == want
