"""Masking and preparation speed-ups (issue #19) must not change a single result.

* ``pii._flag`` looks at all of a call's strings at once (joined) to find the few that can hold an identifier:
  ``_levels`` and ``_mask_texts`` built on it give exactly what ``_level`` and ``mask_text`` give string by
  string, and the findings of a call mask as each string masked on its own (no memory across calls: a text-keyed
  cache would make the benchmark, which repeats template sentences, lie).
* ``text.normalize_many`` skips ``_CN_VALUE`` without 十/百/千 and ``_EN_DIGIT_RUN`` without two digit words side
  by side; ``sound_codes`` fills its table as characters are first seen: each against the unconditional step.
"""

from __future__ import annotations

import random
from dataclasses import replace

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


strings_of_a_call = st.lists(texts | st.none(), max_size=12)


@settings(max_examples=400, deadline=None)
@given(strings_of_a_call)
def test_joined_levels_are_levels(strings: list[str | None]) -> None:
    info, cands = pii._levels(strings)
    expected = [pii._level(s) for s in strings]
    assert [x[:2] if x[0] else 0 for x in info] == [x[:2] if x[0] else 0 for x in expected]
    assert [x[2] for x in info if x[0]] == [x[2] for x in expected if x[0]]
    assert cands == [i for i, x in enumerate(expected) if x[0]]


@settings(max_examples=400, deadline=None)
@given(st.lists(texts, max_size=12))
def test_joined_masking_is_mask_text(strings: list[str]) -> None:
    done = pii._mask_texts(strings)
    assert [done.get(s, s) for s in strings] == [pii.mask_text(s) for s in strings]
    assert pii.mask_data(strings) == [pii.mask_text(s) for s in strings]


def test_joined_masking_on_generated_strings() -> None:
    strings = _generated(3000, seed=5) + ["\x00" + s for s in _generated(50, seed=6)] + ["\ud800 1234567"]
    for i in range(0, len(strings), 25):
        chunk = strings[i:i + 25]
        done = pii._mask_texts(chunk)
        assert [done.get(s, s) for s in chunk] == [pii.mask_text(s) for s in chunk]
        info, _ = pii._levels(chunk)
        assert [x[0] for x in info] == [pii._level(s)[0] for s in chunk]


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


def _reference_finding(f: Finding, exact: dict[str, str], changed: dict[str, str]) -> Finding:
    """Each string of a finding masked on its own: an utterance text as the transcript masked it, the quotes in
    the explanation too, every other string by mask_text."""
    def one(s: str, quotes: dict[str, str]) -> str:
        if s in exact:
            return exact[s]
        return pii.mask_text(pii._quoted(s, quotes))

    def value(v: object) -> object:
        if isinstance(v, str):
            return one(v, {})
        if isinstance(v, dict):
            return {k: value(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return type(v)(value(x) for x in v)
        return v

    return replace(f, evidence=tuple(replace(e, text=one(e.text, {})) for e in f.evidence),
                   explanation=one(f.explanation, changed), data=value(f.data))


def test_findings_of_a_call_mask_as_each_string_on_its_own() -> None:
    strings = _generated(600, seed=11)
    calls = [_call(strings[i:i + 20], seed=i) for i in range(0, 580, 20)]
    for t, fs in calls:
        masked, got, _ = pii.redact_call(t, fs)
        exact = {a.text: b.text for a, b in zip(t.utterances, masked.utterances, strict=True)} if masked is not t \
            else {}
        changed = {a: b for a, b in exact.items() if a != b and len(a) >= pii._QUOTE_MIN}
        assert got == [_reference_finding(f, exact, changed) for f in fs]
        assert all((g is f) == (g == f) for f, g in zip(fs, got, strict=True))  # an unchanged finding is kept
    assert any(f is not g for (t, fs) in calls for f, g in zip(fs, pii.redact_call(t, fs)[1], strict=True))


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
