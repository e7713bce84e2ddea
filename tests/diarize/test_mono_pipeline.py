"""``Pipeline`` on a mono call: role-labelled utterances, the agent speaker and its confidence, overrides."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from qa_engine.diarize import MonoOptions, label_mono_call
from qa_engine.errors import QaEngineError
from qa_engine.rules import load_pack


def _text(t: Any, role: str) -> str:
    return " ".join(u.text for u in t.utterances if u.role == role).lower()


def test_mono_call_gets_agent_and_customer_roles(en_mono_result: Any) -> None:
    t, _ = en_mono_result
    assert {u.role for u in t.utterances} == {"agent", "customer"}
    assert t.agent_speaker == "spk0" and t.agent_confidence is not None and t.agent_confidence > 0.8
    assert t.agent_channel is None and t.agent_channel_reason.startswith("detected from wording")
    agent, customer = _text(t, "agent"), _text(t, "customer")
    for phrase in ("thank you for calling", "anything else", "goodbye"):
        assert phrase in agent and phrase not in customer
    assert "laptop" in customer and "laptop" not in agent
    assert all(u.speaker in ("spk0", "spk1") for u in t.utterances)


def test_mono_report_passes_greeting_and_closing(pipeline_en: Any, en_mono_result: Any) -> None:
    transcript, timings = en_mono_result
    report = pipeline_en.check(transcript, timings=timings)
    status = {f.rule_id: f.status for f in report.findings}
    assert status["greeting"] == "pass" and status["closing"] == "pass"


def test_agent_speaker_given_overrides_detection(en_mono_result: Any, en_mono_16k: Any) -> None:
    t, _ = en_mono_result
    flipped, _ = label_mono_call(en_mono_16k, t.utterances, call_id="c", language="en", duration=t.duration,
                                 options=MonoOptions(), pack=load_pack("en"), agent_speaker=1)
    assert flipped.agent_speaker == "spk1" and flipped.agent_confidence == 1.0
    assert "laptop" in _text(flipped, "agent") and "given" in (flipped.agent_channel_reason or "")
    with pytest.raises(QaEngineError, match="--agent-speaker 5 does not exist: 2 speaker"):
        label_mono_call(en_mono_16k, t.utterances, call_id="c", language="en", duration=t.duration,
                        options=MonoOptions(), pack=load_pack("en"), agent_speaker=5)


def test_diarizer_none_keeps_roles_unknown(en_mono_result: Any, en_mono_16k: Any) -> None:
    t, _ = en_mono_result
    raw = [replace(u, role="unknown", speaker=None) for u in t.utterances]
    plain, diarization = label_mono_call(en_mono_16k, raw, call_id="c", language="en",
                                         duration=t.duration, options=MonoOptions(diarizer="none"))
    assert diarization is None and plain.agent_speaker is None
    assert {u.role for u in plain.utterances} == {"unknown"}
