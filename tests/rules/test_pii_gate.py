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

from hypothesis import given, settings
from hypothesis import strategies as st

from qa_engine import pii, text
from qa_engine.types import Evidence, Finding, Transcript, Utterance

# hostile pieces: digits of several scripts, full width, Chinese numerals (spoken, 大写, place words), English
# digit words (case folding ſ, ligature ﬁ, glued to letters), separators and fillers, e-mail addresses written
# and spoken, cues and not-cues, amounts, dates, times, masking stars, newlines and tabs
PIECES = list("0123456789０１２３٣४零〇○一二三四五六七八九十百千两幺洞拐勾壹贰 -_.,，、·/\t'’()+*") + [
    "one", "Two", "THREE", "five", "Six", "seven", "eight", "nine", "zero", "oh", "Oh", "o", "O", " o ", "ſix",
    "ﬁve", "double ", "Triple ", "twenty", "hundred", "Twelve", "thirty-", "nineteen ", "ſeventy",
    "someone", "phone", "İ", "é", "Ａ", "？", "（", "\u3000", "…",
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

    data = value(f.data)
    assert isinstance(data, dict)
    return replace(f, evidence=tuple(replace(e, text=one(e.text, {})) for e in f.evidence),
                   explanation=one(f.explanation, changed), data=data)


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


# --- a call's numbers found over its joined strings (issue #19, second pass) ------------------------------------

WEIRD = ["\ufb01ve", "\u212a", "o\u212a", "\u0130", ".COM", " AT ", " Dot ", "\u017fix", "ONE TWO", "hyphen", "HYPHEN",
         "\u6a2a\u6760", "da\u017fh", "     ", "\U0001d7cf", "\u00b2abc 1", "Okay", "oh", "uh ", " um ", "\x00"]
hostile = st.lists(st.sampled_from(PIECES + WEIRD), max_size=30).map("".join)


def _runs4(s: str) -> list[tuple[int, int]]:
    """The runs of four digits or more as _find had them: every run of the digits form, the short ones left out."""
    return [m.span() for m in pii._DIGITS.run.finditer(s) if pii._count(pii._DIGITS, s, *m.span())[0] >= 4]


@settings(max_examples=500, deadline=None)
@given(hostile)
def test_runs_of_four_are_the_runs_kept(s: str) -> None:
    assert [m.span() for m in pii._RUN4_ANY.finditer(s)] == _runs4(s)
    if len(s.encode("utf-16-le", "surrogatepass")) == 2 * len(s):  # no character beyond the BMP
        assert [m.span() for m in pii._RUN4.finditer(s)] == _runs4(s)


@settings(max_examples=500, deadline=None)
@given(st.lists(hostile, min_size=1, max_size=8))
def test_hints_are_supersets(strings: list[str]) -> None:
    """The RE2 passes over a call's strings miss nothing: runs, starts of continued numbers, words and addresses."""
    flags = pii._flag(strings)
    if flags is None:
        return
    runs = pii._digit_runs(flags)
    for i, s in enumerate(strings):
        if i not in flags.words:
            assert runs.get(i, []) == _runs4(s)
            assert pii._form(s)[0] is pii._DIGITS and not pii._may_have_email(s)
    may_start = set(pii._may_start(flags))
    assert {i for i, s in enumerate(strings) if pii._starts_with_unit(s)} <= may_start


def test_characters_that_case_fold_to_ascii_letters() -> None:
    assert pii._FOLDS_TO_ASCII == "".join(c for c in map(chr, range(0x80, 0x110000))
                                          if any("a" <= x <= "z" for x in c.casefold()))


@settings(max_examples=300, deadline=None)
@given(hostile)
def test_long_pure_digit_runs_are_never_protected(s: str) -> None:
    """_keep_runs takes a run of nine or more decimal digits and nothing else as it is, without _protected."""
    protected = pii._protected(s)
    for start, end in _runs4(s):
        if end - start >= 9 and s[start:end].isdecimal():
            assert not [(a, b) for a, b in protected if a < end and start < b], (s, start, end)


def test_long_pure_digit_runs_next_to_amounts_dates_and_times() -> None:
    for s in ("2,499元 13812345678", "10:30 13812345678", "2024-03-12 13812345678", "$1,299.99 123456789",
              "March 12, 2024 123456789", "1234万 123456789", "105 minutes 123456789", "12th 2012345678901"):
        assert pii.find_pii(s) == pii._find(s, pii._CI, s, pii._CI.pair.search(s) is not None), s
        assert "*" in pii.mask_text(s), s


@settings(max_examples=300, deadline=None)
@given(st.lists(hostile, min_size=1, max_size=10))
def test_a_call_without_continued_numbers_masks_as_each_text_on_its_own(strings: list[str]) -> None:
    """Utterances a minute apart continue nothing: each text is masked as mask_text masks it, and a span covers each
    identifier of it, in order, numbered in turn."""
    utts = tuple(Utterance(i * 60.0, i * 60.0 + 2.0, "customer", s) for i, s in enumerate(strings))
    masked, spans = pii.redact_transcript(Transcript(call_id="c", language="en", duration=len(strings) * 60.0,
                                                     utterances=utts))
    assert [u.text for u in masked.utterances] == [pii.mask_text(s) for s in strings]
    expected = [(i, m.kind) for i, s in enumerate(strings) for m in pii.find_pii(s) if len(s) > 1]
    assert [(sp.utterance_index, sp.kind) for sp in spans] == expected
    assert [sp.group for sp in spans] == list(range(1, len(spans) + 1))


def test_findings_with_separators_in_their_sentences() -> None:
    strings = _generated(300, seed=12)
    for i in range(0, 280, 20):
        t, fs = _call(strings[i:i + 20], seed=i)
        fs = [replace(f, explanation=f.explanation.replace(" ", "\x00", 1)) if k % 3 == 0 else f
              for k, f in enumerate(fs)]
        masked, got, _ = pii.redact_call(t, fs)
        exact = {a.text: b.text for a, b in zip(t.utterances, masked.utterances, strict=True)} if masked is not t \
            else {}
        changed = {a: b for a, b in exact.items() if a != b and len(a) >= pii._QUOTE_MIN}
        assert got == [_reference_finding(f, exact, changed) for f in fs]
