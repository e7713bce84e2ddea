"""Masking and preparation speed-ups (issue #19) must not change a single result.

* ``pii._mask_string`` remembers short strings in which nothing was found (the findings of every call repeat
  the same explanations and data strings): masking with the memory, cold or warm, gives exactly what
  ``mask_text`` gives, and the memory never holds a string with an identifier.
* ``text.normalize_many`` skips ``_CN_VALUE`` without 十/百/千 and ``_EN_DIGIT_RUN`` without two digit words side
  by side; ``sound_codes`` fills its table as characters are first seen: each against the unconditional step.

A per-text "nothing to find" regex gate in front of the detectors was measured and dropped: ``_level`` and
``find_pii`` already stop after one or two searches on such texts, and the gate was slower (zh 0.75 -> 0.87 us,
en 1.69 -> 2.10 us per utterance).
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa_engine import pii, text
from qa_engine.types import Evidence, Finding, Transcript, Utterance

# hostile pieces: digits of several scripts, full width, Chinese numerals (spoken, 大写, place words), English
# digit words (case folding ſ, ligature ﬁ, glued to letters), separators and fillers, e-mail addresses written
# and spoken, cues and not-cues, amounts, dates, times, masking stars, newlines and tabs
PIECES = list("0123456789０１２３٣४零〇○一二三四五六七八九十百千两幺洞拐勾壹贰 -_.,，、·/\t'’()+*") + [
    "one", "Two", "THREE", "five", "Six", "seven", "eight", "nine", "zero", "oh", "Oh", "o", "O", " o ", "ſix",
    "ﬁve", "double ", "Triple ", "twenty", "hundred", "someone", "phone", "İ", "é", "Ａ", "？", "（", "\u3000", "…",
    "嗯", "呃", "uh", "um", "dash", "杠", "元", "块", "分钟", "minutes", "dollars", "$", "¥", "年", "月", "号", ":",
    "手机", "尾号", "卡号", "验证码", "phone", "card", "last four", "ending in", "number of", "电话费", "order number",
    "X", "x", "@", " at ", " AT ", " dot ", "点", "艾特", ".com", "gmail", "john.smith@example.com",
    "王小明", "您好", "不知道", "Can't", "a", "\n", "①", "²", "2,499元", "10:30", "2024-03-12", "$1,299.99",
    "138 1234 5678", "１３８１２３４５６７８", "幺三八幺二三四五六七八", "one three eight one two three four",
    "five five five one two one two", "(555) 123-4567", "+86 138-0013-8000", "11010519491231002X",
    "6222 0202 0000 1234 567", "我的手机号是", "my number is ", "The agent talked over the customer 0 time(s)",
]
texts = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)


def _generated(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 25))) for _ in range(n)]


@pytest.fixture(autouse=True)
def _empty_memory() -> None:
    pii._clean.clear()


@settings(max_examples=400, deadline=None)
@given(texts)
def test_remembered_strings_mask_as_mask_text(s: str) -> None:
    expected = pii.mask_text(s)
    assert pii.mask_data(s) == expected  # cold
    assert pii.mask_data(s) == expected  # warm
    assert (s in pii._clean) <= (expected == s)


def test_memory_never_holds_a_string_with_an_identifier() -> None:
    strings = _generated(3000, seed=5)
    for s in strings:
        pii.mask_data(s)
    assert pii._clean
    for s in pii._clean:
        assert pii.find_pii(s) == [] and pii.mask_text(s) == s


def test_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pii, "_CLEAN_MAX", 10)
    for i in range(100):
        pii.mask_data(f"rule explanation {'x' * i}")
    assert 0 < len(pii._clean) <= 10
    pii.mask_data("y" * (pii._CLEAN_MAX_LEN + 1))
    assert "y" * (pii._CLEAN_MAX_LEN + 1) not in pii._clean


def _call(strings: list[str], seed: int) -> tuple[Transcript, list[Finding]]:
    rng = random.Random(seed)
    utts = tuple(Utterance(i * 3.0, i * 3.0 + 2.5, rng.choice(["agent", "customer"]), s)
                 for i, s in enumerate(strings[:12]))
    findings = []
    for k in range(8):
        quoted = rng.choice(strings)
        findings.append(Finding(
            rule_id=f"r{k}", status=rng.choice(["pass", "fail"]),
            evidence=(Evidence(0.0, 1.0, rng.choice(strings)), Evidence(1.0, 2.0, quoted)),
            explanation=f"The agent said \u201c{quoted[:rng.randint(0, 40)]}\u2026\u201d {rng.choice(strings)}",
            data={"phrase": rng.choice(strings), "items": [rng.choice(strings), {"t": rng.choice(strings)}],
                  "n": k}))
    return Transcript(call_id="c", language="zh", duration=40.0, utterances=utts), findings


def test_findings_of_a_call_mask_the_same_with_and_without_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    strings = _generated(600, seed=11)
    calls = [_call(strings[i:i + 20], seed=i) for i in range(0, 580, 20)]
    warm = [pii.redact_call(t, fs) for t, fs in calls]
    again = [pii.redact_call(t, fs) for t, fs in calls]  # every clean string remembered now
    monkeypatch.setattr(pii, "_CLEAN_MAX_LEN", -1)  # nothing remembered: every string masked afresh
    pii._clean.clear()
    plain = [pii.redact_call(t, fs) for t, fs in calls]
    assert warm == plain and again == plain
    assert any(f is not g for (_, fs), (_, masked, _) in zip(calls, plain, strict=True)
               for f, g in zip(fs, masked, strict=True))  # identifiers were there to mask


# --- preparation ------------------------------------------------------------------------------------------

NORM_PIECES = PIECES + ["十五", "三百零五", "两千", "二十", "一百", "千万", "one two", "oh five", "nine-nine",
                        "zero\tzero", "one  two", "ONE TWO", "seven\nseven", "來電", "號碼", "sevens", "oneself"]
norm_texts = st.lists(st.lists(st.sampled_from(NORM_PIECES), max_size=15).map("".join), min_size=1, max_size=6)


def _reference_normalize(texts: list[str], language: str) -> list[str]:
    """normalize_many's steps as they were, every step run unconditionally."""
    joined = "\n".join(t.replace("\n", " ").replace("\r", " ") for t in texts)
    if text.language_family(language) == "zh":
        s = text._nfkc(text.to_simplified(joined)).lower()
        s = text._CN_VALUE.sub(lambda m: text._cn_value(m.group(0)), s)
        s = text._CN_DIGIT_RUN.sub(lambda m: "".join(text._CN_DIGITS[c] for c in m.group(0)), s)
        s = text._punct_to_space(s.replace("_", " "))
        s = text._ZH_SPACE.sub("", s)
    else:
        s = text._nfkc(joined).lower()
        s = text._APOSTROPHE.sub("", s)
        s = text._punct_to_space(s.replace("_", " "))
        if not text._EN_DIGIT_WORDS.isdisjoint(s.split()):
            s = text.en_number_words_to_digits(text._EN_SPACES.sub(" ", s))
        s = text._DIGIT_GAP.sub("", s)
    out = [x.strip() for x in s.split("\n")]
    return out if len(out) == len(texts) else [_reference_normalize([t], language)[0] for t in texts]


@settings(max_examples=400, deadline=None)
@given(norm_texts, st.sampled_from(["zh", "zh-TW", "en", "en-US"]))
def test_normalize_many_agrees_with_every_step_run(texts_: list[str], language: str) -> None:
    assert text.normalize_many(texts_, language) == _reference_normalize(texts_, language)


def test_normalize_many_agrees_on_generated_calls() -> None:
    strings = _generated(2000, seed=3)
    for language in ("zh", "en"):
        for i in range(0, 2000, 40):
            assert text.normalize_many(strings[i:i + 40], language) == _reference_normalize(strings[i:i + 40],
                                                                                             language)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30) | texts)
def test_sound_codes_one_code_per_character(s: str) -> None:
    assert text.sound_codes(s) == "".join(text._char_code(ch) for ch in s)
