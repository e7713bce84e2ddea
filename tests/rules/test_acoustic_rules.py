"""The audio-based rules ``agent_overtalk`` and ``raised_voice``: sources, evidence, options, packs, stored form."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from qa_engine.acoustics import Acoustics, LoudnessTrack, OvertalkSpan
from qa_engine.cli import main
from qa_engine.errors import PackError
from qa_engine.rules import load_pack
from qa_engine.transcript import transcript_from_dict, transcript_to_dict
from qa_engine.types import Finding, Transcript

from .conftest import REPO, build_transcript

TALK = ["A: 您好请问有什么可以帮您", "C: 我想查一下话费", "A: 好的请稍等", "C: 好"]


def _finding(transcript: Transcript, rule_id: str, pack: str = "zh-CN") -> Finding:
    return next(f for f in load_pack(pack).run(transcript) if f.rule_id == rule_id)


def _with(acoustics: Acoustics, lines: list[Any] = TALK, language: str = "zh") -> Transcript:
    return replace(build_transcript(lines, language), acoustics=acoustics)


def _track(values: list[float | None], role: str = "agent") -> LoudnessTrack:
    return LoudnessTrack(role, 0.5, -24.0, tuple(values))  # type: ignore[arg-type]


def test_raised_voice_is_not_applicable_without_audio() -> None:
    finding = _finding(build_transcript(TALK, "zh"), "raised_voice")
    assert finding.status == "not_applicable" and "录音" in finding.explanation


def test_raised_voice_fails_with_the_loud_stretch_as_evidence() -> None:
    values: list[float | None] = [0, 1, -1, 0, 7, 9, 8, 6.5, 0, 0]
    finding = _finding(_with(Acoustics("stereo", (), 0.0, (_track(values),))), "raised_voice")
    assert finding.status == "fail"
    assert [(e.start, e.end) for e in finding.evidence] == [(2.0, 4.0)]
    assert finding.data["spans"][0][2] >= 6
    assert "2秒处" in finding.explanation


def test_raised_voice_ignores_the_customer_and_short_bursts() -> None:
    customer = _track([0, 20, 20, 20, 20, 20, 0], role="customer")
    agent = _track([0, 0, 12, 12, 12, 0, 0, 1])  # 1.5 s only
    finding = _finding(_with(Acoustics("stereo", (), 0.0, (agent, customer))), "raised_voice")
    assert finding.status == "pass"
    assert _finding(_with(Acoustics("stereo", (), 0.0, (customer,))), "raised_voice").status == "not_applicable"


def test_overtalk_uses_the_audio_when_there_is_audio() -> None:
    # the utterance times overlap a lot, but the audio says the voices never met
    lines: list[Any] = [["agent", 0, 1, "您好"], ["customer", 1.5, 12, "我想问一下话费"], ["agent", 3, 12, "您听我说"]]
    by_text = _finding(build_transcript(lines, "zh"), "agent_overtalk")
    assert by_text.status == "fail" and by_text.data["source"] == "utterance times"
    assert by_text.data == {"count": 1, "total_s": 9.0, "source": "utterance times"}
    by_audio = _finding(_with(Acoustics("stereo", (), 3.0, ()), lines), "agent_overtalk")
    assert by_audio.status == "pass" and by_audio.data["source"] == "audio (stereo)"


def test_overtalk_counts_only_what_the_agent_started() -> None:
    spans = tuple(OvertalkSpan(float(t), t + 1.0, "customer") for t in range(0, 40, 5))
    assert _finding(_with(Acoustics("stereo", spans, 0.0, ())), "agent_overtalk").status == "pass"
    three = tuple(OvertalkSpan(float(t), t + 0.6, "agent") for t in (2, 7, 12))
    finding = _finding(_with(Acoustics("stereo", three, 0.0, ())), "agent_overtalk")
    assert finding.status == "fail" and finding.data["count"] == 3
    assert [e.start for e in finding.evidence] == [2.0, 7.0, 12.0]
    short = tuple(OvertalkSpan(float(t), t + 0.3, "agent") for t in range(0, 40, 5))  # under min_overlap_s
    assert _finding(_with(Acoustics("stereo", short, 0.0, ())), "agent_overtalk").status == "pass"


def test_overtalk_is_not_applicable_without_both_parties() -> None:
    finding = _finding(build_transcript(["A: hello", "A: anyone there"], "en"), "agent_overtalk", "en")
    assert finding.status == "not_applicable"


def test_a_stored_transcript_is_judged_the_same_after_a_round_trip() -> None:
    ac = Acoustics("mono", (OvertalkSpan(2.0, 9.5, "agent"),), 1.0, (_track([0, 9, 9, 9, 9, 9, 0]),))
    t = _with(ac)
    back = transcript_from_dict(json.loads(json.dumps(transcript_to_dict(t))))
    for rule_id in ("agent_overtalk", "raised_voice"):
        assert _finding(back, rule_id).status == _finding(t, rule_id).status == "fail"


def _pack_with(tmp_path: Path, rule_id: str, **change: Any) -> Path:
    doc = yaml.safe_load((REPO / "rules/packs/en.yaml").read_text(encoding="utf-8"))
    next(r for r in doc["rules"] if r["id"] == rule_id).update(change)
    path = tmp_path / "pack.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(("rule_id", "change", "needle"), [
    ("agent_overtalk", {"max_count": -1}, "max_count"),
    ("agent_overtalk", {"max_total_s": "long"}, "max_total_s"),
    ("agent_overtalk", {"overlap": 1}, "overlap"),
    ("raised_voice", {"min_db_above": 0}, "min_db_above"),
    ("raised_voice", {"role": "supervisor"}, "role"),
    ("raised_voice", {"min_duration_s": 10_000}, "min_duration_s"),
])
def test_bad_options_are_refused_naming_rule_and_field(tmp_path: Path, rule_id: str, change: dict[str, Any],
                                                       needle: str) -> None:
    with pytest.raises(PackError) as exc:
        load_pack(_pack_with(tmp_path, rule_id, **change))
    assert f"rule '{rule_id}'" in str(exc.value) and needle in str(exc.value)


@pytest.mark.parametrize("pack", ["zh-CN", "en"])
def test_packs_show_lists_both_rules(pack: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["packs", "show", pack]) == 0
    out = capsys.readouterr().out
    assert "### `agent_overtalk`" in out and "### `raised_voice`" in out
    assert "interruptions" not in {r.id for r in load_pack(pack).rules}  # replaced by agent_overtalk
