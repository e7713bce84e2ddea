"""Overtalk from utterance times in C (qa_engine/native/_overtalk.c) against the Python reference,
``acoustics._overtalk_from_utterances_python``: generated calls (overlapping, touching, equal and signed-zero
times, pauses around the join gap, other roles, unsorted utterances), the rule fixtures' calls, and what the C
hands back to the reference (times that are not floats, NaN)."""

from __future__ import annotations

import math
import random
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa_engine import acoustics, native
from qa_engine.acoustics import JOIN_GAP_S, MIN_OVERTALK_S, OvertalkSpan, overtalk_from_utterances
from qa_engine.types import Utterance

_overtalk: Any = native.load("_overtalk")
pytestmark = pytest.mark.skipif(_overtalk is None, reason="qa_engine.native._overtalk is not built (or turned off)")

_reference = acoustics._overtalk_from_utterances_python


def _native(utts: Any) -> Any:
    return _overtalk.overtalk(utts, OvertalkSpan, JOIN_GAP_S, MIN_OVERTALK_S)


def _same(utts: list[Utterance]) -> list[OvertalkSpan]:
    got, want = _native(utts), _reference(utts)
    assert got == want
    assert repr(got) == repr(want)  # -0.0 and 0.0 apart too
    assert _native(tuple(utts)) == want and overtalk_from_utterances(utts) == want
    return want


# times on a coarse grid (ties, touching and join-gap pauses happen) and anywhere (rounding)
_TIME = st.one_of(st.sampled_from([0.0, -0.0, 0.1, 0.2, 0.3, 0.5, 0.6, 1.0, 1.25, 2.0]),
                  st.integers(0, 400).map(lambda t: t / 20), st.floats(-5, 500, allow_nan=False))
_ROLE = st.sampled_from(["agent", "customer", "agent", "customer", "other", "Agent"])


@st.composite
def _utterances(draw: Any) -> list[Utterance]:
    out = []
    for _ in range(draw(st.integers(0, 40))):
        start = draw(_TIME)
        out.append(Utterance(start, start + draw(_TIME), draw(_ROLE), "x"))
    return out


@settings(max_examples=500, deadline=None)
@given(_utterances())
def test_overtalk_equals_the_reference_on_generated_calls(utts: list[Utterance]) -> None:
    _same(utts)


def test_overtalk_on_benchmark_and_dense_calls() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_rules import synthetic_call

    rng = random.Random(3)
    for lang in ("zh", "en"):
        for _ in range(10):
            _same(list(synthetic_call(rng, lang, 80).utterances))
    # two parties talking over each other all call long: many spans, both starters
    dense = [Utterance(i * 0.7 + rng.random(), i * 0.7 + 1.5 + rng.random(), ("agent", "customer")[i % 2], "x")
             for i in range(3000)]
    spans = _same(dense)
    assert len(spans) > 300 and {s.started_by for s in spans} == {"agent", "customer"}
    assert _same([]) == [] and _same([Utterance(0.0, 1.0, "agent", "x")]) == []


def test_what_only_the_reference_reads_goes_back_to_it() -> None:
    ints = [Utterance(0, 5, "agent", "x"), Utterance(1, 3, "customer", "x")]  # type: ignore[arg-type]
    nan = [Utterance(0.0, 5.0, "agent", "x"), Utterance(math.nan, 3.0, "customer", "x")]
    for utts in (ints, nan):
        assert _native(utts) is None
        assert overtalk_from_utterances(utts) == _reference(utts)
    assert overtalk_from_utterances(ints) == [OvertalkSpan(1, 3, "customer")]
    assert _native(iter(ints)) is None  # not a list or tuple: read once, by the reference
    with pytest.raises(AttributeError):
        _native([object()])
