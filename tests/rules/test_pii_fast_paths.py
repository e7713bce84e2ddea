"""PII masking's speed-ups must not change results: each fast path against the straightforward one.

``find_pii`` picks one of three pattern forms per text (digits only; lower-cased ASCII; the
case-insensitive one for any text) and skips texts by cheap upper bounds.  The reference runs
the case-insensitive form on every text with no shortcut.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from qa_engine import pii

# corner cases: case folding (ſ K İ ı), full width and other digit scripts, numerals, separators,
# fillers, number words glued to letters, amounts, dates, cues
ALPHABET = list("0123456789０１２３٣४零〇○一二三四五六七八九十百千两幺洞壹贰 -_.,，、·/\t'’()+") + [
    "one", "Two", "THREE", "five", "Six", "seven", "eight", "nine", "zero", "oh", "Oh", "o", "O", "ſix", "ſeven",
    "fiKe", "double ", "Triple ", "İ", "ı", "é", "e\u0301", "Ａ", "ｂ", "？", "（", "）", "：", "\u3000", "…",
    "嗯", "uh", "dash", "元", "块", "分钟", "minutes", "dollars", "$", "年", "月", "号", "：", ":",
    "手机", "尾号", "phone", "card", "last four", "number of", "电话费", "X", "x", "@", " at ", " dot ", "com",
    "來電", "您好", "不知道", "someone", "phone", "Can't", "a", "\n", "①", "²",
    "twelve", "Thirty", "forty-", "NINETEEN", "ſeventy", "hundred", "ten", "often", "twenty ", "eleven",
]
texts = st.lists(st.sampled_from(ALPHABET), max_size=40).map("".join)


def _reference(s: str) -> list[pii.PiiMatch]:
    return pii._find(s, pii._CI, s, pii._CI.pair.search(s) is not None)


@settings(max_examples=500, deadline=None)
@given(texts)
def test_fast_forms_agree_with_case_insensitive_reference(s: str) -> None:
    assert pii.find_pii(s) == _reference(s)


@settings(max_examples=500, deadline=None)
@given(texts)
def test_levels_are_upper_bounds(s: str) -> None:
    level, _, _ = pii._level(s)
    if level == 0:  # a lone "o" is not taken for zero (only next to other digits)
        assert all(m.group(0).lower() == "o" for m in pii._CI.gate.finditer(s))
    if level < 3:  # no two units side by side, except lone "o"s (only zero next to real digits)
        pair = pii._CI.pair.search(s)
        assert pair is None or set(re.sub(r"\W", "", pair.group(0).casefold())) <= {"o"}, pair


def test_case_folded_letters() -> None:
    for s in ("ſix " * 8, "Nine " * 8, "ſeven-" * 8, "一三八" * 3 + "İ", "13812345678", "o o o o o o o o"):
        assert pii.find_pii(s) == _reference(s), s
