"""Acoustic cues from tiny generated stereo/mono signals with known overtalk and raised-voice spans."""

from __future__ import annotations

import json
import math
import tracemalloc
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from qa_engine.acoustics import (
    Acoustics,
    LoudnessTrack,
    acoustics_analytics,
    acoustics_from_dict,
    measure_acoustics,
    overtalk_from_utterances,
    raised_spans,
)
from qa_engine.audio import channel_energy_db
from qa_engine.errors import TranscriptError
from qa_engine.report import report_to_dict
from qa_engine.transcript import transcript_from_dict, transcript_to_dict
from qa_engine.types import CallReport, Transcript, Utterance

SR = 8000
FRAME_S = 0.03


def speech_like(seconds: float, level_db: float, seed: int) -> np.ndarray:
    """Noise shaped into ~4 syllables/s at ``level_db`` dBFS (RMS of the loud parts)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    envelope = np.abs(np.sin(2 * math.pi * 2.0 * t)) ** 0.5
    return (rng.standard_normal(t.size) * envelope * 10 ** (level_db / 20)).astype(np.float32)


def place(track: np.ndarray, start: float, signal: np.ndarray, gain_db: float = 0.0) -> None:
    i = int(start * SR)
    track[i:i + signal.size] += signal * 10 ** (gain_db / 20)


def stereo_call(turns: list[tuple[str, float, float]], seconds: float,
                louder: tuple[float, float, float] | None = None, echo_db: float = -26.0) -> np.ndarray:
    """Channel 0 customer, channel 1 agent; each channel carries the other's echo ``echo_db`` down.
    ``louder``: (start, end, dB) of the agent's channel made louder."""
    x = np.zeros((2, int(seconds * SR)), dtype=np.float32)
    for k, (role, start, end) in enumerate(turns):
        ch = 1 if role == "agent" else 0
        place(x[ch], start, speech_like(end - start, -22.0 if ch else -28.0, seed=k))
    if louder is not None:
        i0, i1 = int(louder[0] * SR), int(louder[1] * SR)
        x[1, i0:i1] *= 10 ** (louder[2] / 20)
    x += x[::-1] * 10 ** (echo_db / 20)
    x += np.random.default_rng(99).standard_normal(x.shape).astype(np.float32) * 1e-4  # line noise
    return x


def transcript_for(turns: list[tuple[str, float, float]], duration: float, agent_channel: int | None = 1,
                   language: str = "en") -> Transcript:
    utts = tuple(Utterance(start, end, role, "hello there how are you today",  # type: ignore[arg-type]
                           channel=None if agent_channel is None else (1 if role == "agent" else 0))
                 for role, start, end in turns)
    return Transcript("t", language, duration, utts, agent_channel=agent_channel)


def test_stereo_overtalk_names_who_started_it_and_how_long() -> None:
    turns = [("agent", 0.5, 4.0), ("customer", 4.5, 10.0), ("agent", 8.0, 12.0), ("customer", 11.0, 11.8)]
    x = stereo_call(turns, 13.0)
    ac = measure_acoustics(channel_energy_db(x, SR, FRAME_S), FRAME_S, transcript_for(turns, 13.0))
    assert ac.source == "stereo"
    spans = [(s.started_by, s.start, s.end) for s in ac.overtalk]
    assert len(spans) == 2, spans
    (who1, s1, e1), (who2, s2, e2) = spans
    assert who1 == "agent" and s1 == pytest.approx(8.0, abs=0.3) and e1 == pytest.approx(10.0, abs=0.3)
    assert who2 == "customer" and s2 == pytest.approx(11.0, abs=0.3) and e2 == pytest.approx(11.8, abs=0.3)
    assert ac.non_talk_s == pytest.approx(0.5 + 0.5 + 1.0, abs=0.2)  # before, between, after


def test_echo_of_the_other_party_is_not_overtalk() -> None:
    turns = [("agent", 0.5, 4.0), ("customer", 4.5, 9.0)]
    x = stereo_call(turns, 10.0, echo_db=-22.0)
    # the customer's utterance (say, an ASR time error) spans the agent's turn: its channel only has echo there
    transcript = transcript_for([("agent", 0.5, 4.0), ("customer", 2.0, 9.0)], 10.0)
    ac = measure_acoustics(channel_energy_db(x, SR, FRAME_S), FRAME_S, transcript)
    assert ac.overtalk == ()


def test_raised_voice_is_found_against_the_speakers_own_median() -> None:
    turns = [("agent", 0.5, 30.0)]
    x = stereo_call(turns, 31.0, louder=(12.0, 16.0, 12.0))
    ac = measure_acoustics(channel_energy_db(x, SR, FRAME_S), FRAME_S, transcript_for(turns, 31.0))
    track = ac.track("agent")
    assert track is not None and track.median_dbfs == pytest.approx(-25, abs=4)
    spans = raised_spans(track, 8.0, 2.0)
    assert len(spans) == 1
    assert spans[0].start == pytest.approx(12.0, abs=0.6) and spans[0].end == pytest.approx(16.0, abs=0.6)
    assert spans[0].db_above_median == pytest.approx(12.0, abs=1.5)
    assert raised_spans(track, 8.0, 5.0) == []  # held 4 s only


def test_a_steady_voice_has_no_raised_span_whatever_its_level() -> None:
    turns = [("agent", 0.5, 20.0)]
    for level in (-6.0, -40.0):  # a loud line or a quiet one: judged against the speaker's own median
        x = stereo_call(turns, 21.0) * 10 ** (level / 20 + 22 / 20)
        ac = measure_acoustics(channel_energy_db(x, SR, FRAME_S), FRAME_S, transcript_for(turns, 21.0))
        track = ac.track("agent")
        assert track is not None and raised_spans(track, 6.0, 1.0) == []


def test_mono_calls_take_overtalk_from_the_diarized_utterances() -> None:
    turns = [("agent", 0.5, 4.0), ("customer", 3.0, 8.0)]
    x = stereo_call(turns, 9.0)[:1] + stereo_call(turns, 9.0)[1:]
    ac = measure_acoustics(channel_energy_db(x, SR, FRAME_S), FRAME_S, transcript_for(turns, 9.0, None))
    assert ac.source == "mono"
    assert [(s.started_by, s.start, s.end) for s in ac.overtalk] == [("customer", 3.0, 4.0)]
    assert {t.role for t in ac.loudness} == {"agent", "customer"}


def test_overtalk_from_utterances_merges_each_partys_speech() -> None:
    utts = [Utterance(0, 5, "customer", "a"), Utterance(5.1, 9, "customer", "b"), Utterance(4, 6, "agent", "c"),
            Utterance(8.95, 9.1, "agent", "d"), Utterance(20, 21, "agent", "e")]
    spans = overtalk_from_utterances(utts)
    assert [(s.started_by, s.start, s.end) for s in spans] == [("agent", 4.0, 6.0)]  # 0.05 s overlap ignored


def test_one_hour_of_energy_costs_little_memory_and_time() -> None:
    frames = int(3600 / FRAME_S)
    rng = np.random.default_rng(1)
    energy = rng.normal(-30, 5, size=(frames, 2)).astype(np.float32)
    turns = [("agent" if k % 2 else "customer", k * 6.0, k * 6.0 + 5.5) for k in range(600)]
    transcript = transcript_for(turns, 3600.0)
    tracemalloc.start()
    ac = measure_acoustics(energy, FRAME_S, transcript)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    audio_bytes = 3600 * 16000 * 2 * 4
    assert peak < audio_bytes * 0.05, peak  # the audio itself is 460 MB; this stays a few MB
    assert len(ac.loudness) == 2


TURNS = [("agent", 0.5, 8.0), ("customer", 7.0, 10.0)]


def _acoustics() -> Acoustics:
    x = stereo_call(TURNS, 11.0, louder=(1.0, 4.0, 10.0))
    return measure_acoustics(channel_energy_db(x, SR, FRAME_S), FRAME_S, transcript_for(TURNS, 11.0))


def test_transcript_document_round_trips_acoustics() -> None:
    t = replace(transcript_for(TURNS, 11.0), acoustics=_acoustics())
    doc = json.loads(json.dumps(transcript_to_dict(t)))
    assert doc["acoustics"]["source"] == "stereo" and doc["acoustics"]["loudness"]
    back = transcript_from_dict(doc)
    assert back.acoustics == t.acoustics
    assert "acoustics" not in transcript_to_dict(replace(t, acoustics=None))  # older documents unchanged


@pytest.mark.parametrize(("patch", "message"), [
    ({"source": "tape"}, "acoustics.source"),
    ({"non_talk_s": float("nan")}, "acoustics.non_talk_s"),
    ({"non_talk_s": 10 ** 400}, "acoustics.non_talk_s"),
    ({"overtalk": [{"start": 5, "end": 4, "started_by": "agent"}]}, "overtalk[0].end"),
    ({"overtalk": [{"start": 1, "end": 2, "started_by": "robot"}]}, "started_by"),
    ({"overtalk": "lots"}, "acoustics.overtalk"),
    ({"loudness": [{"role": "agent", "step_s": 0.5, "median_dbfs": -20, "values": [1, "x"]}]}, "values[1]"),
    ({"loudness": [{"role": "agent", "step_s": 0, "median_dbfs": -20, "values": []}]}, "step_s"),
    ({"loudness": [{}] * 3}, "acoustics.loudness"),
])
def test_bad_acoustics_documents_are_refused_with_a_clear_error(patch: dict[str, Any], message: str) -> None:
    doc = {"source": "stereo", "non_talk_s": 1.0, "overtalk": [], "loudness": [], **patch}
    with pytest.raises(TranscriptError, match=message.replace("[", r"\[").replace("]", r"\]")):
        acoustics_from_dict(doc, "acoustics")
    with pytest.raises(TranscriptError):
        transcript_from_dict({"language": "en", "utterances": [], "acoustics": doc})


def test_report_analytics_carry_the_timeline_shape() -> None:
    t = replace(transcript_for(TURNS, 11.0), acoustics=_acoustics())
    block = acoustics_analytics(t)
    assert block is not None
    assert block["overtalk"] == [{"start": block["overtalk"][0]["start"], "end": block["overtalk"][0]["end"],
                                  "started_by": "customer"}]
    assert block["raised_voice"] and block["raised_voice"][0]["role"] == "agent"
    assert set(block["loudness"]) == {"agent", "customer"}
    assert all(len(points) <= 600 for points in block["loudness"].values())
    assert block["speech_rate"]["unit"] == "words/min" and block["speech_rate"]["agent"]
    doc = report_to_dict(CallReport("t", t, analytics={"acoustics": block}))
    assert json.loads(json.dumps(doc))["analytics"]["acoustics"]["non_talk_s"] == block["non_talk_s"]
    assert acoustics_analytics(replace(t, acoustics=None)) is None


def test_chart_points_are_thinned_to_600_keeping_peaks() -> None:
    values = tuple([0.0] * 5000 + [15.0] + [0.0] * 5000)
    track = LoudnessTrack("agent", 0.5, -20.0, values)
    t = Transcript("t", "zh", 5000.0, (), acoustics=Acoustics("stereo", (), 0.0, (track,)))
    block = acoustics_analytics(t)
    assert block is not None
    points = block["loudness"]["agent"]
    assert len(points) <= 600 and max(v for _, v in points) == 15.0
    assert block["speech_rate"]["unit"] == "chars/s"
