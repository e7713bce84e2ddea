"""Pack loading, validation errors (file, rule id, field), registry and generated docs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from qa_engine.errors import PackError
from qa_engine.rules import REGISTRY, NoPackForLanguage, default_pack_id, list_packs, load_pack
from qa_engine.rules.docs import rules_markdown

from .conftest import REPO

STANDARD = ["greeting", "confirm_repeat", "apology_on_complaint", "closing", "offer_further_help",
            "forbidden_phrases", "hold_etiquette"]


@pytest.mark.parametrize("pack_id", ["zh-CN", "en"])
def test_standard_packs_have_the_seven_rules(pack_id: str) -> None:
    pack = load_pack(pack_id)
    ids = [r.id for r in pack.rules]
    assert all(r in ids for r in STANDARD)
    assert pack.version and pack.language
    assert all(r.summary and r.description for r in pack.rules)


@pytest.mark.parametrize(("language", "expected"), [("zh", "zh-CN"), ("zh-CN", "zh-CN"), ("cmn", "zh-CN"),
                                                    ("zh-TW", "zh-CN"), ("yue", "zh-CN"), ("en", "en"),
                                                    ("en-US", "en"), ("en-GB", "en")])
def test_default_pack_for_language(language: str, expected: str) -> None:
    assert default_pack_id(language) == expected
    assert load_pack(language=language).id == expected


@pytest.mark.parametrize("language", ["fr", "ja", "de-DE"])
def test_no_default_pack_for_a_language_no_pack_is_written_for(language: str) -> None:
    """Not the English pack for "anything else": the caller makes the call unscorable, naming the language."""
    with pytest.raises(NoPackForLanguage) as caught:
        default_pack_id(language)
    assert caught.value.languages == ("en", "zh")
    assert f"{language!r}" in str(caught.value) and "en, zh" in str(caught.value)
    with pytest.raises(NoPackForLanguage):
        load_pack(language=language)


def test_a_pack_written_for_the_language_is_its_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = yaml.safe_load((REPO / "rules/packs/en.yaml").read_text(encoding="utf-8"))
    (tmp_path / "en.yaml").write_text(yaml.safe_dump(src), encoding="utf-8")
    (tmp_path / "acme-fr.yaml").write_text(yaml.safe_dump({**src, "pack": "acme-fr", "language": "fr"}),
                                           encoding="utf-8")
    monkeypatch.setenv("QA_ENGINE_PACKS_DIR", str(tmp_path))
    assert default_pack_id("fr-FR") == "acme-fr" and default_pack_id("en-US") == "en"
    with pytest.raises(NoPackForLanguage, match="en, fr"):
        default_pack_id("ja")


def test_list_packs() -> None:
    assert {p["id"] for p in list_packs()} >= {"zh-CN", "en"}


def test_packs_dir_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = yaml.safe_load((REPO / "rules/packs/en.yaml").read_text(encoding="utf-8"))
    src["pack"] = "custom"
    (tmp_path / "custom.yaml").write_text(yaml.safe_dump(src), encoding="utf-8")
    monkeypatch.setenv("QA_ENGINE_PACKS_DIR", str(tmp_path))
    assert [p["id"] for p in list_packs()] == ["custom"]
    assert load_pack("custom").id == "custom"


def _write(tmp_path: Path, mutate) -> Path:  # type: ignore[no-untyped-def]
    doc = yaml.safe_load((REPO / "rules/packs/en.yaml").read_text(encoding="utf-8"))
    mutate(doc)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def _rule(doc: dict, rule_id: str) -> dict:
    return next(r for r in doc["rules"] if r["id"] == rule_id)


@pytest.mark.parametrize(("mutate", "needles"), [
    (lambda d: _rule(d, "greeting")["window"].update(anchor="middle"), ["rule 'greeting'", "window.anchor"]),
    (lambda d: _rule(d, "closing").update(wieght=3), ["rule 'closing'", "wieght", "unknown field"]),
    (lambda d: _rule(d, "closing").update(weight=-1), ["rule 'closing'", "weight"]),
    (lambda d: _rule(d, "closing").update(type="nope"), ["rule 'closing'", "type", "unknown check type"]),
    (lambda d: _rule(d, "forbidden_phrases")["match"].update(patterns=["(unclosed"]),
     ["rule 'forbidden_phrases'", "match.patterns", "regular expression"]),
    (lambda d: _rule(d, "hold_etiquette").pop("announce"), ["rule 'hold_etiquette'", "announce", "required"]),
    (lambda d: _rule(d, "greeting").update(match={"threshold": 80}), ["rule 'greeting'", "match"]),
    (lambda d: d["rules"].append(dict(_rule(d, "closing"))), ["rule 'closing'", "duplicate"]),
    (lambda d: d.update(grades={"pass": 60}), ["grades", "0"]),
    (lambda d: d.update(rules=[]), ["rules", "at least one rule"]),
])
def test_invalid_pack_names_file_rule_and_field(tmp_path: Path, mutate, needles: list[str]) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path, mutate)
    with pytest.raises(PackError) as exc:
        load_pack(path)
    msg = str(exc.value)
    assert str(path) in msg
    for needle in needles:
        assert needle in msg, msg


def test_invalid_yaml_reports_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("pack: x\nrules: [\n", encoding="utf-8")
    with pytest.raises(PackError, match=r"bad.yaml: invalid YAML at line"):
        load_pack(path)


def test_unknown_pack_id() -> None:
    with pytest.raises(PackError, match="no such pack"):
        load_pack("xx-YY")


def test_registry_has_the_check_types() -> None:
    load_pack("en")
    assert {"phrase_in_window", "response_after", "confirm_repeat", "forbidden", "hold_etiquette", "metric",
            "classify"} <= set(REGISTRY)


def test_docs_rules_md_is_up_to_date() -> None:
    current = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    assert current == rules_markdown(), "regenerate: python -m qa_engine.rules.docs > docs/rules.md"
