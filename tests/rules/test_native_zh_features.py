"""customer_repeat's Chinese features in C (qa_engine/native/_repeat.c: zh_features) against the reference,
``repeat.zh_features_python`` (a regex of overlapping content bigrams less the stop bigrams)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa_engine import native
from qa_engine.rules.checks import repeat
from qa_engine.text import normalize

from .test_native_match import TEXT, TEXTS, ZH_TEXT

_repeat: Any = native.load("_repeat")
pytestmark = pytest.mark.skipif(_repeat is None, reason="qa_engine.native._repeat is not built (or turned off)")

# stop characters, stop bigrams' characters, digits (ASCII and full-width), "*", whitespace of every kind
_PIECES = st.sampled_from(list(repeat.ZH_STOP_CHARS[:20]) + ["时候", "知道", "话费", "宽带", "查", "0", "9", "５", "*",
                                                            " ", "\t", "\n", "\u3000", "\x1c", "\x85", "😀", "𠀀",
                                                            "\ud800", "a", "é"])


def _same(text: str, stop_chars: str = repeat.ZH_STOP_CHARS,
          stop_bigrams: frozenset[str] = repeat.ZH_STOP_BIGRAMS) -> None:
    assert _repeat.zh_features(text, stop_chars, stop_bigrams) == repeat.zh_features_python(text)


@settings(max_examples=400, deadline=None)
@given(TEXT | ZH_TEXT | st.lists(_PIECES, max_size=40).map("".join))
def test_zh_features_equal_the_reference_on_generated_texts(text: str) -> None:
    _same(text)


def test_zh_features_on_fixture_sentences_long_and_empty_texts() -> None:
    texts = [normalize(t, "zh") for t in TEXTS["zh"]]
    assert sum(bool(repeat.zh_features(t)) for t in texts) > 50  # features are found
    for text in [*texts, "", "查", "话费" * 20_000, "😀" * 10_000 + "我" + "𠀀" * 10_000]:
        _same(text)


def test_zh_features_take_the_callers_stop_lists() -> None:
    """Astral stop characters too: the C looks them up outside its BMP bitmap."""
    assert _repeat.zh_features("a😀b𠀀cd", "😀c", frozenset()) == frozenset({"b𠀀"})
    assert _repeat.zh_features("话费宽带", "", frozenset({"费宽"})) == frozenset({"话费", "宽带"})
    with pytest.raises(TypeError):
        _repeat.zh_features("话费", "", ["费宽"])
