"""The native find's regex part and its hits (qa_engine/native/_match.c: pattern_hit, new_hit) against the Python
reference (``Matcher._find_python`` with :func:`qa_engine.rules.safe_regex.match_spans`).

The C asks RE2 directly and converts byte offsets to characters itself, and builds each :class:`Hit` without
the dataclass constructor; both must give what the reference gives: patterns that match empty, that span
multi-byte and astral characters, that follow a negation, exact patterns, on generated and fixture texts.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa_engine import native
from qa_engine.rules.matching import Hit, Matcher, PhraseBook, Prepared, prepare_all
from qa_engine.rules.schema import MatchSpec
from qa_engine.types import Utterance

from .test_native_match import TEXT, TEXTS, _no_surrogates

_match: Any = native.load("_match")
pytestmark = pytest.mark.skipif(_match is None, reason="qa_engine.native._match is not built (or turned off)")

# patterns that match empty strings, multi-byte and astral characters, digits, and phrases after a negation
PATTERNS = {
    "zh": [r"稍等\w*", r"x*", r"(?:好)?", r"[😀𠀀𝄞]+", r"\d{3,}", r"[０-９]+", r"抱歉|不好意思", r"a|", r"é\w", r"\s+",
           r"确认.?"],
    "en": [r"sorry\w*", r"x*", r"(?:ok)?", r"[😀𠀀𝄞]+", r"\d{3,}", r"[０-９]+", r"hold on|wait", r"a|", r"é\w", r"\s+",
           r"confirm.?"],
}
EXACT = {"zh": [r"又", r"好吗?", r"[😀𠀀]", r"z*"], "en": [r"\bno\b", r"thanks?", r"z*"]}


def _book(family: str) -> tuple[PhraseBook, list[Matcher]]:
    """A book whose matchers each hold one pattern (and one with every exact pattern), negated and not."""
    book = PhraseBook(family)
    matchers = []
    for negate in (False, True):
        for pattern in PATTERNS[family]:
            matchers.append(Matcher(MatchSpec(patterns=[pattern], negate=negate), book, 80))
        matchers.append(Matcher(MatchSpec(exact_patterns=EXACT[family], negate=negate), book, 80))
        matchers.append(Matcher(MatchSpec(patterns=PATTERNS[family][:4], exact_patterns=EXACT[family][:2],
                                          phrases=["请稍等" if family == "zh" else "please hold"], negate=negate),
                                book, 80))
    return book, matchers


BOOKS = {family: _book(family) for family in ("zh", "en")}


def _call(texts: list[str], family: str, book: PhraseBook) -> list[Prepared]:
    utts = tuple(Utterance(float(i), i + 0.5, "agent", t) for i, t in enumerate(texts))
    prepared = prepare_all(utts, family)
    book.screen().scan_all(prepared)
    return prepared


def _compare(family: str, texts: list[str]) -> int:
    """Native find == reference find for every matcher and text (asked twice: the cache); the native hits."""
    book, matchers = BOOKS[family]
    native_call, python_call = _call(texts, family, book), _call(texts, family, book)
    hits = 0
    for m in matchers:
        for a, b in zip(native_call, python_call, strict=True):
            for _ in range(2):
                got, want = _match.find(m._find_cfg, m, a), m._find_python(b)
                assert got == want, (m.pattern and m.pattern.parts, a.utt.text, got, want)
                assert repr(got) == repr(want)
                hits += got is not None
    return hits


@pytest.mark.parametrize("family", ["zh", "en"])
def test_pattern_hits_equal_the_reference_on_fixture_sentences(family: str) -> None:
    assert _compare(family, TEXTS[family]) > 100  # the patterns do hit


_MIXED = st.lists(st.sampled_from(["稍等一下", "不", "没", "抱歉", "好", "确认", "sorry", "not", "hold on", "no",
                                   "thanks", "x", "xx", "é", "éa", "😀", "𠀀", "𝄞", "123", "４５６", " ", "\u3000"]),
                  max_size=25).map("".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists((TEXT | _MIXED).map(_no_surrogates), min_size=1, max_size=4), st.sampled_from(["zh", "en"]))
def test_pattern_hits_equal_the_reference_on_generated_texts(texts: list[str], family: str) -> None:
    _compare(family, texts)


@pytest.mark.parametrize("family", ["zh", "en"])
def test_pattern_hits_on_long_and_empty_texts(family: str) -> None:
    assert _compare(family, ["", " ", "x" * 5000 + "😀" * 3000 + "稍等一下" * 500 + "sorry" * 500]) > 0


def test_native_hits_are_hits() -> None:
    """A hit built by the C is what ``Hit(...)`` builds: equal, same hash and repr, frozen."""
    book, matchers = BOOKS["zh"]
    p = _call(["请稍等一下😀"], "zh", book)[0]
    hit = _match.find(matchers[0]._find_cfg, matchers[0], p)
    assert type(hit) is Hit
    same = Hit(hit.start, hit.end, hit.similarity, hit.phrase)
    assert (hit, hash(hit), repr(hit)) == (same, hash(same), repr(same))
    assert dataclasses.asdict(hit) == dataclasses.asdict(same)
    with pytest.raises(dataclasses.FrozenInstanceError):
        hit.start = 0  # type: ignore[misc]


# English fuzzy matching (_match.c: fuzzy_en, the reference Matcher._fuzzy_en): words near the phrases' words, run
# together and repeated, so that the aligned window of words often scores below the threshold and the phrase's
# first words from the window's start are scored instead
_FUZZY_WORDS = ("please hold the line thank you for waiting i do apologize pleasehold holdthe theline thankyou "
                "sir ok now wait a moment x not never dont".split())
_FUZZY_BOOKS = {}
for _negate in (False, True):
    _FUZZY_BOOKS[_negate] = Matcher(MatchSpec(phrases=["please hold the line", "thank you for waiting",
                                                       "i do apologize"], threshold=75, negate=_negate),
                                    PhraseBook("en"), 80)


def _same_search(m: Matcher, text: str) -> Any:
    got, want = _match.search(m._search_cfg, m.ids, text, text, m), m._phrase_hit(m.ids, text, text)
    assert got == want and repr(got) == repr(want), text
    return got


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_FUZZY_WORDS), min_size=1, max_size=10).map(" ".join), st.booleans())
def test_fuzzy_en_equals_the_reference(text: str, negate: bool) -> None:
    _same_search(_FUZZY_BOOKS[negate], text)


def test_fuzzy_en_second_window_and_negation() -> None:
    """Texts where the aligned window scores below the threshold and the phrase's words from its start match."""
    m = _FUZZY_BOOKS[False]
    for text in ("please now now a a apologize thankyou", "the i apologize the do hold",
                 "pleasehold hold moment line now x theline x",
                 "pleasehold pleasehold ok thank you waiting waiting hold",
                 "pleasehold a thankyou line apologize"):
        assert _same_search(m, text) is not None
        _same_search(_FUZZY_BOOKS[True], text)
    assert _same_search(_FUZZY_BOOKS[True], "never pleasehold the line") is None
