"""The speed-ups must not change results: each fast path against the straightforward version."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa_engine import text
from qa_engine.rules import load_pack
from qa_engine.rules.matching import Matcher, prepare_all
from qa_engine.types import Utterance

from .conftest import pack_strings

# characters that exercise the corner cases: case folding (ſ K İ ı), full width, combining
# marks, numerals, separators, Traditional characters, punctuation
ALPHABET = list("0123456789０１２３零〇○一二三四五六七八九十百千两幺 -_.,，、·/\t'’") + [
    "one", "Two", "THREE", "five", "Six", "seven", "eight", "nine", "zero", "oh", "Oh", "ſix", "ſeven",
    "nine", "fiKe", "İ", "ı", "é", "e\u0301", "Ａ", "ｂ", "？", "！", "（", "）", "：", "\u3000", "…",
    "來電", "再見", "您好", "不知道", "请稍等", "谢谢", "sorry", "hold", "don't", "Can't", "help",
    "a", "x", "\n", "①", "ﬁ", "²", "phone",
]
texts = st.lists(st.sampled_from(ALPHABET), max_size=40).map("".join)

# (PII masking's fast paths are checked in test_pii_fast_paths.py)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_nfkc_fast_path_agrees(s: str) -> None:
    assert text._nfkc(s) == unicodedata.normalize("NFKC", s)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_ascii_punct_agrees(s: str) -> None:
    assert text._punct_to_space(s) == text._PUNCT.sub(" ", s)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_space_patterns_agree(s: str) -> None:
    zh_space = re.compile(r"(?<=[^\x00-\x7f]) | (?=[^\x00-\x7f])|(?<=\d) (?=\d)")
    digit_gap = re.compile(r"(?<=\d) (?=\d)")
    assert text._ZH_SPACE.sub("", s) == zh_space.sub("", s)
    assert text._DIGIT_GAP.sub("", s) == digit_gap.sub("", s)


def _matchers(lang: str) -> list[Matcher]:
    pack = load_pack(language=lang)
    out: list[Matcher] = []

    def walk(v: object) -> None:
        if isinstance(v, Matcher):
            out.append(v)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)

    for check in pack.checks:
        for v in vars(check).values():
            walk(v)
    return out


def _ungated(m: Matcher) -> Matcher:
    """A copy of the matcher with its prefilter gates switched off."""
    import copy

    c = copy.copy(m)
    c.key = m.key + 10**9  # its own cache slot on prepared utterances
    c._key_gate = None
    if m.pattern is not None:
        c.pattern = copy.copy(m.pattern)
        c.pattern.gate = None
    if m.allow_pattern is not None:
        c.allow_pattern = copy.copy(m.allow_pattern)
        c.allow_pattern.gate = None
    return c


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_matcher_gates_do_not_change_hits(lang: str) -> None:
    import random

    pool = pack_strings(lang)
    rng = random.Random(5)
    utts = []
    for i in range(400):
        parts = [rng.choice(pool) for _ in range(rng.randint(1, 3))]
        if lang == "zh" and rng.random() < 0.5:
            s = "".join(parts)
            j = rng.randrange(len(s))
            parts = [s[:j] + rng.choice("在来点不没知道稍候吧吗了") + s[j + 1:]]
        utts.append(Utterance(float(i), i + 1.0, "agent", " ".join(parts)))
    prepared = prepare_all(utts, lang)
    for m in _matchers(lang):
        plain = _ungated(m)
        for p in prepared:
            assert m.find(p) == plain.find(p), (p.utt.text, m.key)
