"""Hostile or broken packs found by ``benchmarks/fuzz_packs.py``: each is refused with a PackError naming where.

One test per class of crash or slowness the fuzzer found: numbers that are not finite or too big to add up,
integers too long to read in a pack file, characters YAML refuses, and packs too big to compile quickly.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from qa_engine.errors import PackError
from qa_engine.report import report_to_dict
from qa_engine.rules import load_pack
from qa_engine.rules.pack import MAX_PACK_VALUES, MAX_RULES, parse_pack, parse_pack_text
from qa_engine.scoring import score_transcript

from .conftest import REPO, build_transcript

ZH = (REPO / "rules" / "packs" / "zh-CN.yaml").read_text(encoding="utf-8")


def _doc() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(ZH)
    return doc


def _phrase_rule(rule_id: str, phrases: list[str]) -> dict[str, Any]:
    return {"id": rule_id, "type": "phrase_in_window", "summary": "s", "role": "agent",
            "window": {"anchor": "whole_call"}, "match": {"phrases": phrases}}


@pytest.mark.parametrize(("yaml_value", "rule_field"), [
    (".inf", "weight: 15"), ("1e400", "weight: 15"), ("1e308", "weight: 15"), (".nan", "weight: 15"),
])
def test_weights_are_finite_and_bounded(yaml_value: str, rule_field: str) -> None:
    """A weight of inf or 1e308 was accepted: the score summed to inf/nan and the report could not be JSON."""
    text = ZH.replace(rule_field, f"weight: {yaml_value}", 1)
    with pytest.raises(PackError, match=r"f.yaml: rule 'greeting': field 'weight'"):
        parse_pack_text(text, "f.yaml")


def test_non_finite_numbers_in_check_parameters_are_refused() -> None:
    doc = _doc()
    rule = next(r for r in doc["rules"] if r["type"] == "hold_etiquette")
    rule["min_silence_s"] = float("inf")
    with pytest.raises(PackError, match=rf"rule '{rule['id']}': field 'min_silence_s': .*finite"):
        parse_pack(doc, "f.yaml")


def test_accepted_pack_scores_to_json() -> None:
    """The largest weight allowed still gives a finite score that the API can write as JSON."""
    pack = parse_pack_text(ZH.replace("weight: 15", "weight: 1000000", 1), "f.yaml")
    report = score_transcript(build_transcript(["A: 您好很高兴为您服务", "C: 我要查话费"], "zh"), pack)
    json.dumps(report_to_dict(report), allow_nan=False)


def test_pack_file_with_a_5000_digit_integer_names_the_line(tmp_path: Path) -> None:
    """``qa-engine packs validate`` on such a file raised Python's ValueError (int string conversion limit)."""
    path = tmp_path / "big.yaml"
    path.write_text(ZH.replace("version:", "x: " + "9" * 5000 + "\nversion:", 1), encoding="utf-8")
    with pytest.raises(PackError, match=r"big.yaml: invalid YAML at line \d+ column 4: a number of 5000 characters"):
        load_pack(path)


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\ufffe"])
def test_a_character_yaml_refuses_is_named_with_its_line(char: str) -> None:
    """The reader's error gave a character offset only ("position 1234"), not where in the pack."""
    text = ZH.replace("name:", f"x: a{char}\nname:", 1)
    line = text[:text.index(char)].count("\n") + 1
    with pytest.raises(PackError, match=rf"f.yaml: invalid YAML at line {line} column 5: the character U\+"):
        parse_pack_text(text, "f.yaml")


def test_too_many_rules_are_refused_before_compiling() -> None:
    """Thousands of small rules (1 MiB) took 8 s to compile, on every load."""
    doc = _doc()
    doc["rules"] = [_phrase_rule(f"r{i}", [f"您好{i}"]) for i in range(MAX_RULES + 1)]
    started = time.perf_counter()
    with pytest.raises(PackError, match=rf"f.yaml: field 'rules': {MAX_RULES + 1} rules, at most {MAX_RULES}"):
        parse_pack(doc, "f.yaml")
    assert time.perf_counter() - started < 0.5


def test_too_many_values_name_the_rule_that_goes_over() -> None:
    doc = _doc()
    doc["rules"] += [_phrase_rule("huge_list", [f"您好{i}" for i in range(MAX_PACK_VALUES)])]
    with pytest.raises(PackError, match=rf"f.yaml: rule 'huge_list': the pack goes over {MAX_PACK_VALUES} values"):
        parse_pack(doc, "f.yaml")


def test_alias_bomb_in_a_pack_file_is_refused_quickly() -> None:
    """Aliases are allowed in files; a "billion laughs" list is counted without being expanded."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    started = time.perf_counter()
    with pytest.raises(PackError, match=r"f.yaml: \(top level\): more than"):
        parse_pack_text("\n".join(lines) + "\n" + ZH, "f.yaml")
    assert time.perf_counter() - started < 1


def test_the_standard_packs_are_within_the_bounds() -> None:
    for pack_id in ("zh-CN", "en"):
        assert len(load_pack(pack_id).rules) <= MAX_RULES


@pytest.mark.parametrize(("template", "problem"), [
    ("{why:>400000000}", "width or precision over 2 digits"),
    ("{why:{why}}", "nested field"),
    ("{summary.__class__.__mro__}", "'summary.__class__.__mro__' is not a plain name"),
    ("{0}", "'0' is not a plain name"),
])
def test_message_templates_cannot_format_huge_or_reach_attributes(template: str, problem: str) -> None:
    """``{why:>400000000}`` built a 400-million-character explanation on every call scored (memory)."""
    doc = _doc()
    doc["rules"].append({"id": "said_hello", "type": "condition", "summary": "s", "expect": "present",
                         "when": {"role": "agent"}, "messages": {"fail": template}})
    with pytest.raises(PackError, match=rf"rule 'said_hello': field 'messages': fail: .*{problem}"):
        parse_pack(doc, "f.yaml")


def test_plain_message_templates_still_work() -> None:
    doc = _doc()
    doc["rules"].append({"id": "said_hello", "type": "condition", "summary": "s", "expect": "absent",
                         "when": {"phrase": "您好"}, "messages": {"fail": "不该说{why:.20}", "pass": "{ unbalanced"}})
    report = score_transcript(build_transcript(["A: 您好很高兴为您服务"], "zh"), parse_pack(doc, "f.yaml"))
    finding = next(f for f in report.findings if f.rule_id == "said_hello")
    assert finding.status == "fail" and finding.explanation.startswith("不该说（「您好很高兴为您服务」")


@pytest.mark.parametrize("phrase", ["！！！", "   ", "\u200b", "😀", "..."])
def test_phrase_that_normalises_to_nothing_is_refused(phrase: str) -> None:
    """It was accepted and silently never matched: a forbidden-words entry that forbids nothing."""
    doc = _doc()
    doc["rules"].append({**_phrase_rule("blank", ["您好", phrase])})
    with pytest.raises(PackError, match=r"rule 'blank': field 'match.phrases': phrase .* is empty once normalised"):
        parse_pack(doc, "f.yaml")
    doc["rules"][-1] = {"id": "blank", "type": "condition", "summary": "s", "expect": "present",
                        "when": {"all": [{"role": "agent"}, {"phrase": [phrase]}]}}
    refused = r"rule 'blank': when.all\[1\].phrase: (phrase .* is empty once normalised|expected a phrase)"
    with pytest.raises(PackError, match=refused):
        parse_pack(doc, "f.yaml")


def test_huge_echo_min_digits_is_refused() -> None:
    """``echo.min_digits: 10**30`` went into a regex repetition: OverflowError, a 500 on upload."""
    doc = _doc()
    rule = next(r for r in doc["rules"] if r["type"] == "confirm_repeat")
    rule["echo"] = {**rule.get("echo", {}), "min_digits": 10**30}
    with pytest.raises(PackError, match=rf"rule '{rule['id']}': field 'echo.min_digits': .*less than or equal to 100"):
        parse_pack(doc, "f.yaml")
