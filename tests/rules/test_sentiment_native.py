"""The C sentiment (qa_engine.native._sentiment, ._evolve) must give exactly what the Python reference gives.

Each test runs the native function and the reference on the same inputs: generated texts (lexicon terms and
modifiers glued to CJK, Latin, digits, full-width digits, punctuation, case-changing letters, emoji, astral and lone
surrogate characters), the packs' fixtures and the labelled calls, and synthetic calls.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import math
import pickle
import random
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from qa_engine import sentiment, types
from qa_engine.types import Transcript, Utterance

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_rules import synthetic_call  # noqa: E402

pytestmark = pytest.mark.skipif(sentiment._NATIVE_SCORERS is None, reason="qa_engine.native._sentiment not built")

MODIFIERS = [*sentiment.ZH_NEGATORS, *sentiment.ZH_INTENSIFIERS, *sentiment.ZH_DAMPENERS, *sentiment.EN_NEGATORS,
             *sentiment.EN_INTENSIFIERS, *sentiment.EN_DAMPENERS]
TERMS = [*sentiment.ZH_LEXICON, *sentiment.EN_LEXICON]
# pieces the texts are glued from: terms and modifiers (also capitalised and cut short), and characters around them
PIECES = [*TERMS, *MODIFIERS, *(t.upper() for t in sentiment.EN_LEXICON), *(t.title() for t in MODIFIERS),
          *(t[:-1] for t in TERMS if len(t) > 1), *(t[1:] for t in TERMS if len(t) > 1),
          *list("我你们的了吗呢啊，。！？、：；“”‘’（）《》 \n\t"), *list("abcxyzABCXYZ _-'\",.!?;:/()[]{}*…—–"),
          *list("0123456789０１２３４５６７８９"), "İ", "Σ", "ΑΣ", "ς", "\u212a", "ß", "ﬁ", "Ǆ", "ǅ", "\u0301",
          "\u200b", "😀", "👍🏽", "𠀀", "𝐀", "\ud800", "\udfff", "\U0010ffff", "\x00", "\x7f", "\u00a0", "\u3000",
          "no,", "not ", " so ", "a bit ", "sort of ", "真的", "一点也不", "不太", "有点"]
texts = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)
any_text = st.text(max_size=60)  # any code points hypothesis picks (no surrogates: PIECES has them)


def same_floats(a: list[float], b: list[float]) -> bool:
    """Equal lists of floats, -0.0 told from 0.0."""
    if len(a) != len(b):
        return False
    return all(x == y and math.copysign(1, x) == math.copysign(1, y) for x, y in zip(a, b, strict=True))


def native_scores(texts: list[str], family: str) -> list[float]:
    scorers = sentiment._NATIVE_SCORERS
    assert scorers is not None
    scores: list[float] = scorers[family].scores(texts)
    return scores


def check_scores(texts: list[str]) -> None:
    for family in ("zh", "en"):
        native = native_scores(texts, family)
        reference = sentiment._score_texts_python(texts, family)
        diff = [(t, n, r) for t, n, r in zip(texts, native, reference, strict=True) if n != r]
        assert same_floats(native, reference), (family, diff)


@settings(max_examples=1500, deadline=None)
@given(st.lists(texts, max_size=8))
def test_generated_texts_score_as_the_reference(call: list[str]) -> None:
    check_scores(call)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(any_text, texts), max_size=6))
def test_any_code_points_score_as_the_reference(call: list[str]) -> None:
    check_scores(call)


def fixture_text(utterance: Any) -> str:
    """An utterance's text as a fixture writes it: "A: text", [role, start, end, text] or {text: ...}."""
    if isinstance(utterance, str):
        return utterance.split(": ", 1)[-1]
    if isinstance(utterance, list):
        return str(utterance[3])
    return str(utterance.get("text", ""))


def fixture_texts() -> list[list[str]]:
    """The texts of every call in the packs' rule fixtures and the labelled calls (as calls)."""
    calls: list[list[str]] = []
    for path in sorted((ROOT / "rules" / "fixtures").glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")).get("cases", []):
            calls.append([fixture_text(u) for u in case.get("utterances", [])])
    for path in sorted((ROOT / "benchmarks" / "data" / "analytics_labels").glob("*.json")):
        calls.append([u["text"] for u in json.loads(path.read_text(encoding="utf-8"))["utterances"]])
    return calls


def test_fixture_and_labelled_calls_score_as_the_reference() -> None:
    calls = fixture_texts()
    assert len(calls) > 50
    for call in calls:
        check_scores(call)


def test_synthetic_calls_score_as_the_reference() -> None:
    rng = random.Random(3)
    for lang in ("zh", "en"):
        for n in (1, 2, 40, 80):
            check_scores([u.text for u in synthetic_call(rng, lang, n).utterances])


def test_edge_texts_score_as_the_reference() -> None:
    long_zh = "我要投诉，你们太慢了，" * 5000 + "不满意"
    long_en = "not very helpful, " * 5000 + "thanks"
    check_scores([])
    check_scores(["", " ", "\n", long_zh, long_en, "投诉" * 10000, "a" * 100000, "thank you" + " " * 50000,
                  "İ" * 1000 + "terrible", "ΑΣ terrible", "TERRIBLE", "ＴＥＲＲＩＢＬＥ", "“Terrible” service",
                  "not\nhappy", "not  happy", "not, happy", "never happy", "I can't say I'm happy", "a bit annoying",
                  "sort of  annoying", "great, just great", "thanks for nothing.", "\ud800谢谢", "😀𠀀太差了",
                  "12315", "１２３１５", "\u212aind", "than\u212as a lot", "I'm \u212aind of upset", "NOT HAPPY",
                  "İ'm not happy", "\u212a\u212a terrible", "不" * 20 + "满意",
                  "一点也不好", "真是服了", "没有了，谢谢"])


def test_modifiers_at_every_distance_around_the_look_back_window() -> None:
    # a modifier cut by the window's start (zh: 6 characters, en: 25) must count as the reference counts it
    zh_modifiers = (*sentiment.ZH_NEGATORS, *sentiment.ZH_INTENSIFIERS, *sentiment.ZH_DAMPENERS)
    zh = [f"{'的' * lead}{m}{'的' * gap}{t}" for lead in (0, 1) for m in zh_modifiers for gap in range(0, 8)
          for t in ("满意", "谢谢", "太差")]
    en = [f"{'y' * lead}{m}{' ' if sep else ''}{'x' * gap} {t}" for lead in (0, 1) for m in
          (*sentiment.EN_NEGATORS, *sentiment.EN_INTENSIFIERS, *sentiment.EN_DAMPENERS, "not very", "no a bit")
          for sep in (0, 1) for gap in range(0, 28) for t in ("happy", "thanks", "annoying")]
    check_scores(zh)
    check_scores(en)


def test_threads_share_the_scorers() -> None:
    calls = [[u.text for u in synthetic_call(random.Random(k), lang, 80).utterances] for k in range(8)
             for lang in ("zh", "en")]
    expected = [native_scores(call, family) for call in calls for family in ("zh", "en")]
    with ThreadPoolExecutor(8) as pool:
        for _ in range(5):
            got = list(pool.map(lambda job: native_scores(*job), [(c, f) for c in calls for f in ("zh", "en")]))
            assert got == expected


def test_a_text_that_is_not_a_str_is_refused_like_the_reference() -> None:
    for family in ("zh", "en"):
        with pytest.raises(TypeError):
            native_scores(["ok", 3], family)  # type: ignore[list-item]
        with pytest.raises(TypeError):
            sentiment._score_texts_python(["ok", 3], family)  # type: ignore[list-item]


def test_round3_is_pythons_round() -> None:
    native = sentiment._NATIVE
    assert native is not None
    rng = random.Random(7)
    values = [rng.uniform(-1, 1) for _ in range(200000)] + [0.0, -0.0, 0.0625, -0.0625, 0.0005, -0.0005, 1e-300,
                                                             -5e-324, 1e12, -1e12, 7.3e16, 1e308, -1e308]
    for k in range(-1001, 1001):  # around every halfway point, and exact dyadic ties (k.5 / 1000 = m / 2^j)
        y = (k + 0.5) / 1000
        values += [y, math.nextafter(y, 2), math.nextafter(y, -2)]
    values += [m / 2 ** j for j in range(1, 30) for m in range(-999, 1000, 13)]
    values += [math.ldexp(rng.random(), rng.randint(-1074, 60)) for _ in range(20000)]
    for y in values:
        got = native.round3(y)
        assert got == round(y, 3) and math.copysign(1, got) == math.copysign(1, round(y, 3)), y
    assert math.isnan(native.round3(math.nan)) and native.round3(math.inf) == math.inf


def utterance(role: str, text: str, value: Any = None) -> Utterance:
    return Utterance(0.0, 1.0, role, text, sentiment=value)  # type: ignore[arg-type]


def test_summary_is_the_references() -> None:
    rng = random.Random(5)
    calls = [sentiment.annotate(synthetic_call(rng, lang, n)) for lang in ("zh", "en") for n in (1, 2, 3, 5, 9, 80)]
    roles = ["agent", "customer", "unknown"]
    for n in range(0, 12):  # every party size near the edges, values that cancel, -0.0
        utts = tuple(utterance(rng.choice(roles), "", rng.choice([0.0, -0.0, 0.1, -0.1, 0.7, 1.0, -1.0,
                                                                   rng.uniform(-1, 1)])) for _ in range(n))
        calls.append(Transcript("c", "en", 1.0, utts))
    for call in calls:
        native = sentiment.summary_dict(call)
        reference = sentiment._summary_dict_python(call)
        assert json.dumps(native) == json.dumps(reference)  # same keys in the same order, same floats (-0.0 too)


class Role(str):
    pass


def test_summary_leaves_what_it_does_not_cover_to_the_reference() -> None:
    native = sentiment._NATIVE
    assert native is not None
    not_annotated = (utterance("agent", "谢谢"), utterance("customer", "太差了"))
    odd_value = (utterance("agent", "", 1), utterance("customer", "", 0.5))
    odd_role = (utterance("agent", "", 0.5), utterance(Role("customer"), "", 0.5))  # a str subclass
    for utts in (not_annotated, odd_value, odd_role):
        assert native.summary(utts, ("agent", "customer"), 3) is None
        call = Transcript("c", "zh", 1.0, utts)
        assert sentiment.summary_dict(call) == sentiment._summary_dict_python(call)


def test_evolve_each_copies_as_the_reference() -> None:
    assert types._NATIVE is not None
    utts = synthetic_call(random.Random(1), "zh", 40).utterances
    values = [round(random.Random(k).uniform(-1, 1), 3) for k in range(len(utts))]
    before = [dict(u.__dict__) for u in utts]
    native = types.evolve_each(utts, "sentiment", values)
    reference = types._evolve_each_python(Utterance, utts, "sentiment", values)
    assert native == reference and all(type(u) is Utterance for u in native)
    assert [list(u.__dict__.items()) for u in native] == [list(u.__dict__.items()) for u in reference]
    assert [dict(u.__dict__) for u in utts] == before  # the originals are untouched
    copy = native[1]  # an ordinary instance: frozen, picklable, replaceable, collectable
    with pytest.raises(dataclasses.FrozenInstanceError):
        copy.sentiment = 0.0  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(copy)) == copy == dataclasses.replace(copy)
    assert dataclasses.asdict(copy) == dataclasses.asdict(reference[1]) and vars(copy) == vars(reference[1])
    gc.collect()
    again = types.evolve_each(native, "sentiment", [None] * len(native))  # copies of copies
    assert again == tuple(utts) and hash(again[0]) == hash(utts[0])
    assert types.evolve_each((), "sentiment", []) == ()
    with pytest.raises(ValueError):
        types.evolve_each(utts, "sentiment", values[:-1])
    with pytest.raises(ValueError):
        types._evolve_each_python(Utterance, utts, "sentiment", values[:-1])
    with pytest.raises(TypeError):  # only for exactly the class given
        types._NATIVE.evolve_each(Utterance, [*utts, 1], "sentiment", [*values, 0.0])
