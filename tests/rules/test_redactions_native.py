"""The native edges of a text transcript's speech (qa_engine/native/_edges.c) are what scoring's Python gives."""

from __future__ import annotations

import importlib
import random
import sys
from pathlib import Path
from types import ModuleType

import hypothesis
import pytest
from hypothesis import strategies as st

from qa_engine import pii, scoring
from qa_engine.pii import PiiSpan
from qa_engine.types import Redaction, Transcript, Utterance, Word

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from bench_rules import synthetic_call  # noqa: E402


@pytest.fixture(scope="module")
def native_edges() -> ModuleType:
    try:
        return importlib.import_module("qa_engine.native._edges")  # whatever QA_ENGINE_NATIVE says: both compared
    except ImportError:
        pytest.skip("qa_engine/native/_edges.c is not built (tests/test_native.py requires it where it must be)")


TIME = st.one_of(st.sampled_from([0.0, 1.0, 2.5, 2.5000001]), st.floats(0, 1e4, allow_nan=False))
UTTERANCE = st.builds(
    lambda start, length, channel, worded: Utterance(
        start, start + length, "agent", "text", channel=channel,
        words=(Word("a", start, start + length / 2), Word("b", start + length / 2, start + length)) if worded else ()),
    TIME, st.floats(0, 30), st.sampled_from([None, 0, 1, 2]), st.sampled_from([False, False, False, True]))
SETTINGS = hypothesis.settings(max_examples=800, deadline=None, derandomize=True, database=None)


@SETTINGS
@hypothesis.given(utts=st.lists(UTTERANCE, max_size=30), channel=st.sampled_from([None, 0, 1, 3]),
                  mono=st.booleans(), picks=st.lists(st.integers(-3, 33), max_size=8))
def test_speech_edges_are_the_python_edges(native_edges: ModuleType, utts: list[Utterance], channel: int | None,
                                           mono: bool, picks: list[int]) -> None:
    held = set(picks)
    got = native_edges.speech_edges(tuple(utts), channel, mono, held)
    mine = utts if mono else [u for u in utts if u.channel == channel]
    if any(u.words for u in mine) or any(not 0 <= i < len(utts) for i in held):
        assert got is None  # the Python path (word timings, or an index that is no utterance's)
        return
    spans = [PiiSpan(i, "phone", 0.0, 1.0, (), 1, False) for i in held]
    assert got == scoring._python_edge_times(tuple(utts), channel, mono, spans, held)


@SETTINGS
@hypothesis.given(channels=st.lists(st.sampled_from([None, 0, 1, 2, 0.0, False, True]), max_size=10))
def test_mono_channels_is_the_set_check(native_edges: ModuleType, channels: list[int | None]) -> None:
    utts = tuple(Utterance(0.0, 1.0, "agent", "x", channel=c) for c in channels)
    assert native_edges.mono_channels(utts) is (set(c for c in channels) <= {None, 0})


def test_speech_edges_bad_arguments(native_edges: ModuleType) -> None:
    with pytest.raises(TypeError):
        native_edges.speech_edges((), None, True)
    with pytest.raises(AttributeError):
        native_edges.speech_edges((object(),), None, True, set())
    assert native_edges.speech_edges((), None, True, {"x"}) is None


def _stereo(t: Transcript, rng: random.Random) -> Transcript:
    return Transcript(t.call_id, t.language, t.duration,
                      tuple(Utterance(u.start, u.end, u.role, u.text, channel=rng.choice([0, 1]))
                            for u in t.utterances), agent_channel=0)


def test_redactions_are_the_same_with_the_native_edges_and_without(native_edges: ModuleType,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(3)
    calls = [synthetic_call(rng, lang, 80) for lang in ("zh", "en") for _ in range(10)]
    calls += [_stereo(t, rng) for t in calls]
    masked = [pii.redact_transcript(t) for t in calls]
    monkeypatch.setattr(scoring, "_NATIVE", native_edges)
    with_native = [scoring.redactions(t, spans) for t, spans in masked]
    assert sum(map(len, with_native)) > 100
    monkeypatch.setattr(scoring, "_NATIVE", None)
    assert [scoring.redactions(t, spans) for t, spans in masked] == with_native
    assert [[r.room for r in rs] for rs in (scoring.redactions(t, s) for t, s in masked)] == \
        [[r.room for r in rs] for rs in with_native]  # (room is not compared by ==)


def _fields(rs: tuple[Redaction, ...] | None) -> list[tuple[object, ...]] | None:
    """Every field of each redaction, room and the types of the times included (== leaves room out)."""
    if rs is None:
        return None
    return [(r.start, r.end, r.channel, r.kind, r.exact, r.room, type(r.start), type(r.room and r.room[0]),
             type(r.room and r.room[1]), tuple(r.__dict__)) for r in rs]


SPAN = st.builds(lambda i, start, length, kind, exact: PiiSpan(i, kind, start, start + length, (), 1, exact),
                 st.integers(-2, 9), st.sampled_from([0.0, 1.0, 2.5, 3, 7.0]) | TIME,
                 st.sampled_from([0.0, 0.5, 1]) | st.floats(0, 30), st.sampled_from(["phone", "email", "number"]),
                 st.booleans())
EDGE_LIST = st.lists(st.sampled_from([0.0, 1.0, 2.5, 3, 8.0]) | TIME, max_size=12).map(sorted)


@SETTINGS
@hypothesis.given(spans=st.lists(SPAN, max_size=20), mono=st.booleans(),
                  edges=st.dictionaries(st.sampled_from([None, 0, 1, 2]), st.tuples(EDGE_LIST, EDGE_LIST),
                                        max_size=4),
                  channels=st.lists(st.sampled_from([None, 0, 1, 2]), min_size=10, max_size=10),
                  duration=st.sampled_from([0.0, 50.0, 3, 1e4]))
def test_redaction_list_is_the_python_loop(native_edges: ModuleType, spans: list[PiiSpan], mono: bool,
                                           edges: dict[int | None, tuple[list[float], list[float]]],
                                           channels: list[int | None], duration: float) -> None:
    utts = tuple(Utterance(0.0, 1.0, "agent", "x", channel=c) for c in channels)
    got = native_edges.redaction_list(spans, PiiSpan, utts, mono, edges, duration, Redaction)
    assert _fields(got) == _fields(scoring._python_redaction_list(spans, utts, mono, edges, duration))


def test_redaction_list_takes_the_python_path_for_what_it_does_not_know(native_edges: ModuleType) -> None:
    utts = (Utterance(0.0, 1.0, "agent", "x"),)

    class Span(PiiSpan):
        pass

    span = PiiSpan(0, "phone", 0.0, 1.0, (), 1, False)
    assert native_edges.redaction_list([Span(0, "phone", 0.0, 1.0, (), 1)], PiiSpan, utts, True, {}, 1.0,
                                       Redaction) is None
    assert native_edges.redaction_list([span], PiiSpan, utts, True, {None: ((), [])}, 1.0, Redaction) is None
    assert native_edges.redaction_list([span], PiiSpan, utts, True, [], 1.0, Redaction) is None
    with pytest.raises(IndexError):
        native_edges.redaction_list([PiiSpan(5, "phone", 0.0, 1.0, (), 1)], PiiSpan, utts, False, {}, 1.0, Redaction)
    with pytest.raises(TypeError):
        native_edges.redaction_list([span], PiiSpan, utts, True, {})
    with pytest.raises(TypeError):  # a time that does not compare with the edges': as bisect
        native_edges.redaction_list([PiiSpan(0, "phone", "a", 1.0, (), 1)], PiiSpan, utts, True, {None: ([0.0], [0.5])},  # type: ignore[arg-type]
                                    1.0, Redaction)


def test_redactions_of_real_calls_are_the_python_loop(native_edges: ModuleType) -> None:
    rng = random.Random(4)
    calls = [synthetic_call(rng, lang, 80) for lang in ("zh", "en") for _ in range(10)]
    calls += [_stereo(t, rng) for t in calls]
    for t in calls:
        masked, spans = pii.redact_transcript(t)
        utts = masked.utterances
        for mono in (True, False):
            edges = {ch: scoring._edge_times(utts, ch, mono, spans)
                     for ch in {None if mono else utts[s.utterance_index].channel for s in spans}}
            got = native_edges.redaction_list(spans, PiiSpan, utts, mono, edges, masked.duration, Redaction)
            assert _fields(got) == _fields(scoring._python_redaction_list(spans, utts, mono, edges, masked.duration))
