"""CallContext's per-call shortcuts agree with the plain definitions they replace (hold etiquette, dead air,
talk ratio and the turns around a pause read them on every call)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from qa_engine.rules import load_pack
from qa_engine.rules.context import CallContext
from qa_engine.types import Transcript, Utterance

_PACK = load_pack(language="zh")
_times = st.floats(min_value=0, max_value=60, allow_nan=False).map(lambda x: round(x, 1))
_utterance = st.tuples(_times, st.floats(min_value=-1, max_value=15).map(lambda x: round(x, 1)),
                       st.sampled_from(["agent", "customer", "unknown"]))


def _context(spec: list[tuple[float, float, str]]) -> CallContext:
    utts = tuple(Utterance(start, start + length, role, "好的")  # type: ignore[arg-type]
                 for start, length, role in spec)
    return _PACK.context(Transcript(call_id="c", language="zh", duration=80.0, utterances=utts))


@settings(max_examples=300, deadline=None)
@given(st.lists(_utterance, max_size=25), st.sampled_from([0.5, 2.0, 5.0, 10.0]))
def test_long_silences_and_longest_are_the_silences(spec: list[tuple[float, float, str]], min_s: float) -> None:
    ctx = _context(spec)
    silences = ctx.silences()
    assert ctx.long_silences(min_s) == [(s.start, s.end) for s in silences if s.duration >= min_s]
    assert ctx.longest_silence() == max((s.duration for s in silences), default=0.0)


@settings(max_examples=300, deadline=None)
@given(st.lists(_utterance, max_size=25), _times)
def test_turns_around_a_moment(spec: list[tuple[float, float, str]], t: float) -> None:
    ctx = _context(spec)
    for role in ("any", "agent", "customer"):
        utts = ctx.by_role(role)
        assert ctx.started_before(role, t) == [p for p in utts if p.utt.start < t]
        assert ctx.started_from(role, t) == [p for p in utts if p.utt.start >= t]
    agent = sum(max(0.0, p.utt.end - p.utt.start) for p in ctx.agent)
    both = sum(max(0.0, p.utt.end - p.utt.start) for p in ctx.utts if p.role in ("agent", "customer"))
    assert ctx.talk_time("agent") == agent
    assert ctx.talk_time("agent+customer") == both
