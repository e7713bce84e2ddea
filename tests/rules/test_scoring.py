"""Scores, caps, grades, exclusions and PII masking in the report."""

from __future__ import annotations

from dataclasses import replace

import pytest

from qa_engine.rules import load_pack
from qa_engine.rules.schema import OnFail
from qa_engine.scoring import score_findings, score_transcript
from qa_engine.types import Finding

from .conftest import build_transcript

GOOD_ZH = ["A: 您好，很高兴为您服务，请问有什么可以帮您？", "C: 我想查一下话费，号码是一三八一二三四五六七八",
           "A: 好的，您的号码是13812345678对吗？", "C: 对", "A: 本月话费五十元。请问还有其他可以帮您的吗？",
           "C: 没有了", "A: 感谢您的来电，再见"]


def _f(rule_id: str, status: str, weight: float) -> Finding:
    return Finding(rule_id=rule_id, status=status, weight=weight)  # type: ignore[arg-type]


def test_weighted_score_excludes_not_applicable() -> None:
    pack = load_pack("en")
    findings = [_f("greeting", "pass", 15), _f("closing", "fail", 15),
                _f("hold_etiquette", "not_applicable", 10)]
    assert score_findings(findings, pack) == 50.0


def test_critical_failure_caps_score() -> None:
    pack = load_pack("en")
    findings = [_f("greeting", "pass", 15), _f("closing", "pass", 15), _f("forbidden_phrases", "fail", 1)]
    assert score_findings(findings, pack) == 59.0


def test_zero_on_fail() -> None:
    pack = load_pack("en")
    rules = [r if r.id != "closing" else r.model_copy(update={"on_fail": OnFail(zero=True)})
             for r in pack.rules]
    zeroing = replace(pack, rules=rules)
    assert score_findings([_f("greeting", "pass", 15), _f("closing", "fail", 15)], zeroing) == 0.0


@pytest.mark.parametrize(("score", "grade"), [(95, "优秀"), (90, "优秀"), (85, "良好"), (60, "合格"),
                                              (59.9, "不合格"), (0, "不合格")])
def test_grade_bands_zh(score: float, grade: str) -> None:
    assert load_pack("zh-CN").grade_for(score) == grade


def test_grade_bands_en() -> None:
    pack = load_pack("en")
    assert [pack.grade_for(s) for s in (99, 85, 65, 10)] == ["excellent", "good", "pass", "fail"]


def test_report_fields_and_masking() -> None:
    report = score_transcript(build_transcript(GOOD_ZH, "zh"), load_pack("zh-CN"))
    assert report.pack_id == "zh-CN" and report.pack_version == "1.0.0"
    assert report.score == 100.0 and report.grade == "优秀"
    assert report.category == "咨询" and report.priority == "普通"
    statuses = {f.rule_id: f.status for f in report.findings}
    assert statuses["hold_etiquette"] == "not_applicable"
    texts = [u.text for u in report.transcript.utterances]
    texts += [e.text for f in report.findings for e in f.evidence] + [f.explanation for f in report.findings]
    assert not any("13812345678" in t or "一三八一二三四五六七八" in t for t in texts)
    assert any("***********" in t for t in texts)  # every digit masked (issue 16)


def test_masking_can_be_disabled() -> None:
    report = score_transcript(build_transcript(GOOD_ZH, "zh"), load_pack("zh-CN"), mask_pii=False)
    assert any("13812345678" in u.text for u in report.transcript.utterances)


def test_rules_run_on_unmasked_text() -> None:
    # the echo of the full number is what confirms: masking first would hide it
    lines = ["A: 您好很高兴为您服务", "C: 号码是13812345678", "A: 13812345678，好的", "C: 嗯"]
    report = score_transcript(build_transcript(lines, "zh"), load_pack("zh-CN"))
    assert {f.rule_id: f.status for f in report.findings}["confirm_repeat"] == "pass"


def test_failed_critical_rule_caps_real_call() -> None:
    lines = GOOD_ZH[:-1] + ["A: 这是规定，我也没办法。感谢您的来电，再见"]
    report = score_transcript(build_transcript(lines, "zh"), load_pack("zh-CN"))
    assert report.score == 59.0 and report.grade == "不合格"
    bad = next(f for f in report.findings if f.rule_id == "forbidden_phrases")
    assert bad.status == "fail" and bad.severity == "critical" and bad.evidence
