"""The native pass over a call's strings (qa_engine/native/_pii.c) gives what its Python reference gives.

``scan`` is compared with ``pii._python_scan`` on generated strings (digits of several scripts, Chinese numerals,
separators, fillers, digit words, e-mail hints, case-folding letters, CJK, emoji and digits beyond the BMP, NUL, lone
surrogates, very long strings) and on the benchmarks' sentences; the whole masking is compared with the module on
and off.
"""

from __future__ import annotations

import importlib
import random
import sys
from pathlib import Path
from types import ModuleType

import hypothesis
import pytest
from hypothesis import strategies as st

from qa_engine import pii
from qa_engine.types import Evidence, Finding, Transcript, Utterance

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from bench_pii import build_corpus, build_pair_items  # noqa: E402
from bench_rules import synthetic_call  # noqa: E402


@pytest.fixture(scope="module")
def native_pii() -> ModuleType:
    try:
        return importlib.import_module("qa_engine.native._pii")  # whatever QA_ENGINE_NATIVE says: both are compared
    except ImportError:
        pytest.skip("qa_engine/native/_pii.c is not built (tests/test_native.py requires it where it must be)")


# the pieces the scan looks at, and the characters next to them that change what they are
TOKENS = [
    "1", "9", "0", "１", "９", "٣", "۷", "०", "৯", "\U0001d7ce", "\U0001d7d7", "\U000104a0", "²", "½", "Ⅻ",
    *pii._CN_DIGITS, "横", "杠", "横杠", "嗯", "呃", "额", "啊", "哦", "噢", "唔", "诶", "欸", "艾特", "艾", "特", "点",
    " ", "  ", "\t", "\n", "\u3000", "\x1c", "\xa0", "-", "‐", "—", "－", "_", ".", "．", "。", ",", "，", "、", "·",
    "・", "/", "／", "\\", "(", ")", "（", "）", "[", "]", "【", "】", "+", "＋", "!", "?", "…", "~", ":", "：", ";",
    "\"", "'", "’", "“", "”", "@", "#", "a", "x", "X", "o", "O", "s", "k",
    "zero", "oh", "one", "two", "Three", "FOUR", "five", "six", "seven", "eight", "nine", "ten", "twelve", "sixty",
    "seventeen", "hundred", "double", "triple", "fourty", "oneself", "often", "nonet",
    "uh", "um", "UMM", "er", "erm", "ah", "hmm", "dash", "Hyphen", "dasher", "umbrella",
    " at ", " AT ", " At ", " aT ", " dot ", " DOT ", " Dot ", " dOt ", ".com", ".Cn", ".ıo", ".İo", ".xyz", "gmail",
    "ſ", "ſix", "K", "İ", "ı", "ß", "ﬁ", "ﬁve", "ẞ", "ŉ",
    "手机", "电话", "卡号", "尾号", "您好", "我", "的", "是", "元", "号", "年", "😀", "𠀀",
    "\x00", "\ud800", "\udfff",
]
PIECE = st.one_of(st.sampled_from(TOKENS), st.text(max_size=3))
TEXT = st.lists(PIECE, max_size=40).map("".join)
STRINGS = st.lists(st.one_of(TEXT, st.none()), max_size=12)
SETTINGS = hypothesis.settings(max_examples=1500, deadline=None, derandomize=True, database=None)


def _same(native_pii: ModuleType, strings: list[str | None]) -> None:
    assert native_pii.scan(strings) == pii._python_scan(strings), strings


@SETTINGS
@hypothesis.given(strings=STRINGS)
def test_scan_equals_the_reference_on_generated_strings(native_pii: ModuleType, strings: list[str | None]) -> None:
    _same(native_pii, strings)


@SETTINGS
@hypothesis.given(strings=st.lists(st.text(), max_size=6))
def test_scan_equals_the_reference_on_any_text(native_pii: ModuleType, strings: list[str]) -> None:
    _same(native_pii, strings)


@pytest.mark.parametrize("strings", [
    [], [None], [""], [None, "", None], ["a\x00b"], ["13812345678", "\ud83d"], ["1", "2", "3", "4"],
    ["138 1234 5678", "嗯，138嗯1234杠5678", "uh 1 2 3 4", "1 um um 2 3 4", "1 um um um 2 3 4", "1 - - - - 2 3 4",
     "1 - - - - - 2 3 4", "a1 dash 2 3 4", "1 umm- 2 3 4", "1 ſdash 2 3 4", "1 daſh 2 3 4", "1 横杠 2 3 4",
     "1 \u212adash 2 3 4", "1 dash\u212a 2 3 4", "1 ıum 2 3 4", "1 umı 2 3 4", "1 umİ 2 3 4", "1 éum 2 3 4"],
    ["john at gmail dot com", "x@y.z", "写到 at 点", " at .com", ".com at ", " at dot ", " dot at ", "ſix", "ﬁve"],
    ["Oh 5", "o", "O.", "oh", "dash 5", "hmm, 5", "Hyphen 5", "erm 5", "ah5", "umm-5", "横杠1", "hyphen…9",
     "umbrella 5", "\U0001d7ce", "²", "Ⅻ", "one"],
])
def test_scan_equals_the_reference_on_edge_cases(native_pii: ModuleType, strings: list[str | None]) -> None:
    _same(native_pii, strings)


@pytest.mark.parametrize("template", ["1{}234", "12{}3 4", "{}one", "o{}", "{}5", " at {}com", "{}dash 5",
                                      "1 um{}2 3 4"])
def test_scan_equals_the_reference_for_every_character(native_pii: ModuleType, template: str) -> None:
    chars = [*map(chr, range(0x10000)), *map(chr, range(0x10000, 0x110000, 97))]
    _same(native_pii, [template.format(c) for c in chars if c not in "\x00" and not 0xD800 <= ord(c) <= 0xDFFF])


def test_scan_equals_the_reference_on_very_long_strings(native_pii: ModuleType) -> None:
    rng = random.Random(2)
    for _ in range(5):
        strings = ["".join(rng.choice(TOKENS[:-3]) for _ in range(20_000)) for _ in range(3)]
        _same(native_pii, strings + ["1" * 100_000, "一 " * 50_000, "您好" * 50_000])


def test_scan_equals_the_reference_on_calls_and_the_pii_benchmark(native_pii: ModuleType) -> None:
    rng = random.Random(4)
    for lang in ("zh", "en"):
        for n in (80, 5):
            for _ in range(20):
                _same(native_pii, [u.text for u in synthetic_call(rng, lang, n).utterances])
    for item in build_corpus(7, 300) + build_pair_items(7, 200):
        _same(native_pii, item.texts)
        _same(native_pii, [" ".join(item.texts)])


def test_scan_rejects_what_the_reference_cannot_join(native_pii: ModuleType) -> None:
    assert native_pii.scan(["ok", 0, None]) == pii._python_scan(["ok", 0, None])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        native_pii.scan(["ok", 5])
    with pytest.raises(TypeError):
        native_pii.scan(5)


def _call(rng: random.Random, lang: str) -> tuple[Transcript, list[Finding]]:
    t = synthetic_call(rng, lang, 40)
    findings = [Finding(f"r{k}", "fail", evidence=(Evidence(u.start, u.end, u.text),),
                        explanation=f"quoted: {u.text[:20]}…", data={"said": u.text, "n": [u.text[5:]]})
                for k, u in enumerate(t.utterances[::3])]
    extra = Utterance(t.duration, t.duration + 2, "customer", "幺三八 one two 3 4 5 6 7 8 9, mail me at a.b@c.com")
    return Transcript(t.call_id, t.language, t.duration + 3, (*t.utterances, extra)), findings


def test_masking_is_the_same_with_the_native_scan_and_without(native_pii: ModuleType,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(9)
    calls = [_call(rng, lang) for lang in ("zh", "en") for _ in range(15)]
    monkeypatch.setattr(pii, "_NATIVE", native_pii)
    with_native = [pii.redact_call(t, f) for t, f in calls]
    monkeypatch.setattr(pii, "_NATIVE", None)
    assert [pii.redact_call(t, f) for t, f in calls] == with_native


ID_TAIL = st.sampled_from(["", "x", "X", "×", "ｘ", "Ｘ", "叉", "艾克斯", "艾克", " x", "-X", "\tx", "\u3000x", " 叉",
                           "--x", "xa", "x1", " xy", "x.", "X号", " ", "-"])
DIGIT_TEXT = st.lists(st.one_of(st.text("0123456789１２٣", min_size=1, max_size=20), ID_TAIL, PIECE),
                      max_size=12).map("".join)


def _long_runs_same(native_pii: ModuleType, text: str) -> None:
    scanned = pii._python_scan([text])
    runs = scanned[1].get(0, []) if scanned else []
    for some in (runs, [r for r in runs if r[1] - r[0] >= 9]):
        got = native_pii.long_runs(text, some, pii.PiiMatch)
        if got is None:  # the reference's way: some run is short or more than decimal digits
            assert any(b - a < 9 or not text[a:b].isdecimal() for a, b in some), (text, some)
        else:
            assert got == pii._python_keep_runs(text, pii._DIGITS, text, some), (text, some)
            assert all(type(m) is pii.PiiMatch for m in got)


@SETTINGS
@hypothesis.given(text=DIGIT_TEXT)
def test_long_runs_equal_the_reference(native_pii: ModuleType, text: str) -> None:
    _long_runs_same(native_pii, text)


@pytest.mark.parametrize("text", [
    "身份证号11010519491231002X", "11010519491231002 x", "11010519491231002-X", "11010519491231002\tx",
    "11010519491231002xy", "110105194912310021叉", "110105194912310021艾克斯", "110105194912310021 艾克斯",
    "6222021234567890123", "1234567890123456", "13812345678", "123456789", "12345678", "１３８１２３４５６７８", "",
])
def test_long_runs_on_identifiers(native_pii: ModuleType, text: str) -> None:
    _long_runs_same(native_pii, text)


# what may stand around a run of seven or eight digits: units (a count, an amount), currency signs, the dots and commas
# of decimals and thousands, dates and times, letters glued on
SHORT_RUN_CONTEXT = st.sampled_from([
    "", " ", "元", " 元", "元旦", "号码", "号", "%", " ％", "$", "$ ", "¥", "￥ ", "€", "£", ".", "1,234.", "$1.", "1.",
    ",", "1,", ":", "10:", "：", " dollars", "dollars", " am", "Kg", "K", "ſ", "x", "。", "，", "！", "-", "/",
    "2024-03-", "12th ", "3 ", "订单号是", "The order number is ", "\t", "\u3000", "\U0001f600", "\ud800"])
SHORT_RUN = st.text("0123456789１２٣", min_size=7, max_size=8)


@SETTINGS
@hypothesis.given(before=st.lists(SHORT_RUN_CONTEXT, max_size=3).map("".join), run=SHORT_RUN,
                  after=st.lists(SHORT_RUN_CONTEXT, max_size=3).map("".join))
def test_short_runs_equal_the_reference(native_pii: ModuleType, before: str, run: str, after: str) -> None:
    """Runs of seven or eight decimal digits: the native answer (where it gives one) is the reference's, for the run
    the scan finds and for every stretch of seven or eight decimal digits of the text, maximal or not."""
    text = before + run + after
    _long_runs_same(native_pii, text)
    for a in range(len(text)):
        for b in range(a + 7, min(a + 9, len(text) + 1)):
            if text[a:b].isdecimal() and (got := native_pii.long_runs(text, [(a, b)], pii.PiiMatch)) is not None:
                assert got == pii._python_keep_runs(text, pii._DIGITS, text, [(a, b)]), (text, a, b)


@pytest.mark.parametrize("text", ["订单号是65923469。", "我这边已经给您提交了工单，工单号是61030484。",
                                  "The order number is 73958248.", "I've opened a ticket, the reference is 77996743.",
                                  "1234567", "call 7654321, thanks"])
def test_short_runs_of_the_calls_are_native(native_pii: ModuleType, text: str) -> None:
    runs = pii._python_scan([text])[1][0]  # type: ignore[index]
    got = native_pii.long_runs(text, runs, pii.PiiMatch)
    assert got is not None and got == pii._python_keep_runs(text, pii._DIGITS, text, runs) and len(got) == 1


def test_long_runs_rejects_bad_arguments(native_pii: ModuleType) -> None:
    with pytest.raises(TypeError):
        native_pii.long_runs("123456789", [(0, 9)], dict)
    with pytest.raises(TypeError):
        native_pii.long_runs("123456789", [(0,)], pii.PiiMatch)
    assert native_pii.long_runs("123456789", [(0, 10)], pii.PiiMatch) is None  # past the end: the reference's way


@SETTINGS
@hypothesis.given(text=TEXT.filter(lambda t: "\x00" not in t), data=st.data(), email=st.booleans())
def test_mask_equals_the_reference(native_pii: ModuleType, text: str, data: st.DataObject, email: bool) -> None:
    bound = st.integers(-3, len(text) + 3)
    ranges = data.draw(st.lists(st.tuples(bound, bound), max_size=6))
    got = native_pii.mask(text, ranges, email)
    assert got == pii._python_apply(text, ranges, email=email), (text, ranges, email)
    assert (got is text) == (pii._python_apply(text, ranges, email=email) is text)


@pytest.mark.parametrize(("text", "ranges", "email"), [
    ("１２３", [(0, 3)], False), ("号码１３８ １２３４", [(2, 10)], False), ("a😀b", [(1, 2)], False),
    ("😀 1", [(2, 3)], False), ("x 😀", [(0, 1), (2, 3)], False), (" ", [(0, 1)], False), ("a b", [(0, 3)], False),
    ("john.smith@mail.com", [(0, 19)], True), ("@", [(0, 1)], True), ("a\u3000b", [(0, 3)], False),
    ("abc", [(2, 5), (0, 2), (1, 3)], False), ("abc", [], False), ("abc", [(3, 3), (-2, -1)], False),
])
def test_mask_edge_cases(native_pii: ModuleType, text: str, ranges: list[tuple[int, int]], email: bool) -> None:
    assert native_pii.mask(text, ranges, email) == pii._python_apply(text, ranges, email=email)


def test_whole_spans_equal_the_reference(native_pii: ModuleType) -> None:
    rng = random.Random(6)
    for lang in ("zh", "en"):
        for _ in range(20):
            t = synthetic_call(rng, lang, 80)
            texts = [u.text for u in t.utterances]
            items = sorted(pii._find_in_strings(t.utterances, texts, pii.MAX_GAP_S, [0]).items())
            items += [(3, [pii._Part(((0, 1),), "email", 99), pii._Part((), "phone", 100)]), (0, [])]
            got = native_pii.whole_spans(pii.PiiSpan, t.utterances, items)
            want = pii._python_whole_spans(t.utterances, items)
            assert got == want and [vars(s) for s in got] == [vars(s) for s in want]
            assert all(type(s) is pii.PiiSpan and hash(s) == hash(w) for s, w in zip(got, want, strict=True))


def test_whole_spans_rejects_bad_arguments(native_pii: ModuleType) -> None:
    utts = (Utterance(0.0, 1.0, "agent", "x"),)
    with pytest.raises(TypeError):
        native_pii.whole_spans(pii.PiiSpan, utts, [(0, [("not", "a part")])])
    with pytest.raises(IndexError):
        native_pii.whole_spans(pii.PiiSpan, utts, [(5, [pii._Part((), "phone", 1)])])
    with pytest.raises(AttributeError):
        native_pii.whole_spans(pii.PiiSpan, (object(),), [(0, [pii._Part((), "phone", 1)])])
    with pytest.raises(TypeError):
        native_pii.whole_spans(5, utts, [])


QUOTE_CHARS = st.sampled_from(["订", "单", "号", "是", "1", "３", "*", " ", "a", "B", "。", "…", "\U0001f600", "\ud800",
                               "é"])
QUOTE_TEXT = st.lists(QUOTE_CHARS, max_size=40).map("".join)


@st.composite
def _quotes(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    """An explanation and masked utterance texts it may quote: pieces of it (whole, or running past its end), their
    masked forms of the same length mostly, shorter or longer at times."""
    s = draw(QUOTE_TEXT)
    changed: dict[str, str] = {}
    for _ in range(draw(st.integers(0, 5))):
        if s and draw(st.booleans()):
            a = draw(st.integers(0, len(s) - 1))
            orig = s[a:draw(st.integers(a, len(s)))] + draw(QUOTE_TEXT)
        else:
            orig = draw(QUOTE_TEXT)
        if len(orig) < pii._QUOTE_MIN:
            continue
        new = "".join("*" if c.isdigit() or draw(st.booleans()) else c for c in orig)
        changed[orig] = draw(st.sampled_from([new, new[:-1], new + "*", new[:3]]))
    return s, changed


@SETTINGS
@hypothesis.given(case=_quotes())
def test_quoted_equals_the_reference(native_pii: ModuleType, case: tuple[str, dict[str, str]]) -> None:
    s, changed = case
    assert native_pii.quoted(s, changed, pii._QUOTE_MIN) == pii._python_quoted(s, changed)


def test_quoted_on_real_explanations(native_pii: ModuleType) -> None:
    changed = {"订单号是754683816。": "订单号是*********。", "订单号是309680993。": "订单号是*********。",
               "The order number is 73958248.": "The order number is ********."}
    for s in ["客户把同一诉求说了3次（如「我找一下订单号。」…「订单号是309680993。」），问题可能未解决。",
              "「订单号是7546838…」「订单号是754683816。」「订单号是30968", "The order number is 7395…", "",
              "订单号是"]:
        got = native_pii.quoted(s, changed, pii._QUOTE_MIN)
        assert got == pii._python_quoted(s, changed) and (got != s or "订单号是" not in s[:-4])
    # a masked form that holds the head again: the search goes on after the quote, not inside what was put there
    assert native_pii.quoted("aaaaaaaaab", {"aaaaaaaaab": "Xaaaaaaaab"}, pii._QUOTE_MIN) == "Xaaaaaaaab" \
        == pii._python_quoted("aaaaaaaaab", {"aaaaaaaaab": "Xaaaaaaaab"})


def test_quoted_leaves_what_it_does_not_take_to_the_reference(native_pii: ModuleType) -> None:
    assert native_pii.quoted("订单号是1", {"订单号": "***"}, pii._QUOTE_MIN) is None  # shorter than a head
    assert native_pii.quoted("x", {b"orig12": "new123"}, pii._QUOTE_MIN) is None
    with pytest.raises(TypeError):
        native_pii.quoted("x", [("orig12", "new123")], pii._QUOTE_MIN)
    with pytest.raises(TypeError):
        native_pii.quoted("x", {}, 0)
