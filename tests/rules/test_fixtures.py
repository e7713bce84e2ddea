"""The one data-driven test: every case of every rules/fixtures/<rule_id>.yaml file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from qa_engine.acoustics import acoustics_from_dict
from qa_engine.rules import load_pack

from .conftest import FIXTURES, build_transcript

PACK_FOR = {"zh": "zh-CN", "en": "en"}


def _cases() -> list[Any]:
    out = []
    for path in sorted(FIXTURES.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in doc["cases"]:
            out.append(pytest.param(doc["rule"], case, id=f"{doc['rule']}::{case['name']}"))
    return out


@pytest.mark.parametrize(("rule_id", "case"), _cases())
def test_fixture_case(rule_id: str, case: dict[str, Any]) -> None:
    pack = load_pack(PACK_FOR[case["language"]])
    transcript = build_transcript(case["utterances"], case["language"])
    if "acoustics" in case:  # audio-based rules (raised_voice, agent_overtalk): what the audio measured
        transcript = replace(transcript, acoustics=acoustics_from_dict(case["acoustics"]))
    findings = {f.rule_id: f for f in pack.run(transcript)}
    finding = findings[rule_id]
    assert finding.status == case["expect"], finding.explanation
    assert finding.explanation, "every finding explains itself"
    if "label" in case:
        assert finding.data["label"] == case["label"]


def test_every_rule_has_a_fixture_in_both_languages() -> None:
    for pack_id in ("zh-CN", "en"):
        pack = load_pack(pack_id)
        for rule in pack.rules:
            path = FIXTURES / f"{rule.id}.yaml"
            assert path.exists(), f"missing fixture {path}"
            cases = yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]
            lang = pack.language
            statuses = {c["expect"] for c in cases if c["language"] == lang}
            assert statuses, f"{rule.id}: no {lang} case"
            if rule.type != "classify":
                assert {"pass", "fail"} <= statuses, f"{rule.id}: need a passing and a failing {lang} case"


def test_fixture_files_name_their_rule() -> None:
    for path in FIXTURES.glob("*.yaml"):
        assert yaml.safe_load(path.read_text(encoding="utf-8"))["rule"] == Path(path).stem
