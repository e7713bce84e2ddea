"""The per-call matcher screen must not change results: screened vs. unscreened on many generated calls.

The screen (:class:`qa_engine.rules.matching.MatcherScreen`) decides per utterance, in one RE2 set pass, which
matchers can hit, the phrase candidates and which patterns match; every answer must equal the plain path's.
"""

from __future__ import annotations

import pickle
import random
import sys
from pathlib import Path

import pytest

from qa_engine.rules import Pack
from qa_engine.rules.matching import UNSCREENED, MatcherScreen, Prepared, grams_of, prepare_all
from qa_engine.types import Transcript, Utterance

from .conftest import pack_strings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_rules  # noqa: E402  (the benchmark's call generator: the traffic the screen is tuned for)

N_CALLS = 12


def _pack(lang: str) -> Pack:
    return bench_rules.variant_pack(lang, "+conditions")


def _calls(lang: str, seed: int) -> list[Transcript]:
    rng = random.Random(seed)
    calls = [bench_rules.synthetic_call(rng, lang, rng.choice([6, 40, 80])) for _ in range(N_CALLS)]
    pool = pack_strings(lang)
    for c in range(N_CALLS):  # calls made of the pack's own strings, mixed and cut: many hits and near-hits
        utts = []
        for i in range(30):
            parts = [rng.choice(pool) for _ in range(rng.randint(1, 3))]
            s = ("" if lang == "zh" else " ").join(parts)
            if rng.random() < 0.4 and s:
                j = rng.randrange(len(s))
                s = s[:j] + rng.choice("在来点不没知道稍候吧吗了 xk") + s[j + 1:]
            utts.append(Utterance(i * 3.0, i * 3.0 + 2.5, "agent" if i % 2 else "customer", s))
        calls.append(Transcript(call_id=f"gen-{c}", language=lang, duration=100.0, utterances=tuple(utts)))
    return calls


def _unscreened(self: MatcherScreen, utts: list[Prepared]) -> None:
    for p in utts:
        p.found = UNSCREENED


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_screened_calls_give_the_plain_findings(lang: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pack = _pack(lang)
    calls = _calls(lang, seed=11)
    fast = [pack.run(t, time_limit_s=None) for t in calls]
    monkeypatch.setattr(MatcherScreen, "scan_all", _unscreened)
    slow = [pack.run(t, time_limit_s=None) for t in calls]
    assert fast == slow
    assert any(f.status == "fail" for fs in fast for f in fs) and any(f.status == "pass" for fs in fast for f in fs)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_used_pack_pickles_for_batch_workers(lang: str) -> None:
    """The batch sends packs to worker processes by pickle; after a call has built the screen (RE2 sets, which
    cannot be pickled) the pack must still travel, and judge the same there."""
    pack = _pack(lang)
    calls = _calls(lang, seed=5)
    here = [pack.run(t, time_limit_s=None) for t in calls]
    there = pickle.loads(pickle.dumps(pack))
    assert [there.run(t, time_limit_s=None) for t in calls] == here


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_matcher_on_every_utterance(lang: str) -> None:
    pack = _pack(lang)
    hits = 0
    for t in _calls(lang, seed=23):
        fast = prepare_all(t.utterances, lang)
        plain = prepare_all(t.utterances, lang)
        for p in plain:
            p.found = UNSCREENED  # never screened: the matchers' own gates only
        for f, s in zip(fast, plain, strict=True):
            for m in pack.book.matchers:
                hit = m.find(f)
                assert hit == m.find(s), (f.utt.text, m.key)
                hits += hit is not None
    assert hits > 50


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_screen_candidates_are_the_books(lang: str) -> None:
    book = _pack(lang).book
    for t in _calls(lang, seed=5):
        for p in prepare_all(t.utterances, lang):
            p.found = book.screen().scan(p)
            book.candidates(p)
            expected: set[int] = set()
            for g in book.keys.intersection(grams_of(p.codes, book.family, book.unigrams)):
                expected |= book.index[g]
            assert p.candidates == frozenset(expected), p.norm


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_pack_the_sets_refuse_runs_unscreened(lang: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import qa_engine.rules.matching as matching

    calls = _calls(lang, seed=31)[:4]
    expected = [_pack(lang).run(t, time_limit_s=None) for t in calls]
    monkeypatch.setattr(matching, "_build_set", lambda patterns: None)
    pack = _pack(lang)  # a fresh book: its screen is built with the refusing sets
    assert [pack.run(t, time_limit_s=None) for t in calls] == expected
    assert not pack.book.screen().complete


def test_whitespace_class_is_pythons() -> None:
    from qa_engine.rules.matching import _WS

    assert _WS == "".join(f"\\x{{{c:x}}}" for c in range(0x110000) if chr(c).isspace())
