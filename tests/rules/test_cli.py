"""``qa-engine check`` and ``qa-engine packs``, in-process and as the installed console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from qa_engine.cli import main

from .conftest import REPO

SCRIPT = Path(sys.executable).with_name("qa-engine")


def _transcript(tmp_path: Path, language: str = "zh") -> Path:
    doc = {"language": language, "utterances": [
        {"role": "agent", "start": 0.5, "end": 3.0, "text": "您好，很高兴为您服务"},
        {"role": "customer", "start": 3.5, "end": 6.0, "text": "我的号码是13812345678"},
        {"role": "agent", "start": 6.5, "end": 9.0, "text": "感谢您的来电，再见"},
    ]}
    path = tmp_path / "call.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def test_check_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(_transcript(tmp_path)), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["pack"] == {"id": "zh-CN", "version": "1.0.0"}
    assert {"score", "grade", "category", "findings"} <= set(doc)
    ids = [f["rule_id"] for f in doc["findings"]]
    assert ids[:7] == ["greeting", "confirm_repeat", "apology_on_complaint", "closing", "offer_further_help",
                       "forbidden_phrases", "hold_etiquette"]
    assert all({"rule_id", "status", "evidence", "explanation"} <= set(f) for f in doc["findings"])
    assert "号码是***********" in json.dumps(doc, ensure_ascii=False)  # every digit masked (issue 16)
    assert "13812345678" not in json.dumps(doc, ensure_ascii=False)


def test_check_no_mask_and_pack_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = str(REPO / "rules/packs/zh-CN.yaml")
    assert main(["check", str(_transcript(tmp_path)), "--json", "--no-mask", "--pack", pack]) == 0
    assert "13812345678" in capsys.readouterr().out


def test_check_text_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(_transcript(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "pack zh-CN v1.0.0" in out and "greeting" in out


def test_check_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qa-engine: error:") and err.count("\n") == 1
    assert main(["check", str(_transcript(tmp_path)), "--pack", "nope"]) == 2
    assert "no such pack" in capsys.readouterr().err


def test_packs_list_show_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["packs", "list"]) == 0
    assert "zh-CN" in capsys.readouterr().out
    assert main(["packs", "show", "en"]) == 0
    assert "### `greeting`" in capsys.readouterr().out
    assert main(["packs", "validate", str(REPO / "rules/packs/en.yaml")]) == 0
    doc = yaml.safe_load((REPO / "rules/packs/en.yaml").read_text(encoding="utf-8"))
    doc["rules"][0]["window"]["turns"] = 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert main(["packs", "validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "rule 'greeting'" in err and "window.turns" in err


@pytest.mark.skipif(not SCRIPT.exists(), reason="console script not installed in this environment")
def test_console_script(tmp_path: Path) -> None:
    done = subprocess.run([str(SCRIPT), "check", str(_transcript(tmp_path)), "--json"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["grade"]
    done = subprocess.run([str(SCRIPT), "packs", "validate", str(tmp_path / "call.json")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode != 0 and "qa-engine: error:" in done.stderr


def test_check_a_language_without_a_pack_is_not_scored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No pack named and none written for French: unscorable (exit 1), not a fail from the English pack."""
    path = _transcript(tmp_path, language="fr")
    assert main(["check", str(path), "--json"]) == 1
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["status"] == "unscorable" and doc["score"] is None and doc["pack"] is None
    assert "'fr'" in doc["reason"] and "en, zh" in doc["reason"] and "--pack" in doc["reason"]
    assert "not scorable" in captured.err and "'fr'" in captured.err
    assert main(["check", str(path)]) == 1
    assert "not scorable: " in capsys.readouterr().out
    assert main(["check", str(path), "--json", "--pack", "zh-CN"]) == 0  # named: used as asked
    assert json.loads(capsys.readouterr().out)["pack"]["id"] == "zh-CN"


@pytest.mark.parametrize(("language", "pack"), [("en-GB", "en"), ("zh-TW", "zh-CN"), ("yue", "zh-CN")])
def test_check_language_variants_keep_their_packs(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  language: str, pack: str) -> None:
    assert main(["check", str(_transcript(tmp_path, language=language)), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["pack"]["id"] == pack
