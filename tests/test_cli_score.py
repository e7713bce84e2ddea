"""``qa-engine score`` as the installed console script: output formats and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

SCRIPT = Path(sys.executable).with_name("qa-engine")
# The agent's greeting alone (a 4.4 s cut sends Whisper base into a repetition loop and the slow
# temperature fallback: correct, but 5 s more per test).
GREETING_S = 4.3
TOP_KEYS = {"call_id", "language", "duration", "agent_channel", "utterances", "timings",
            "score", "grade", "pack", "findings"}


def qa_engine(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    assert SCRIPT.exists(), f"console script not installed next to {sys.executable}"
    return subprocess.run([str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          check=False)


@pytest.fixture(scope="module")
def en_json(call_en_stereo: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """``score call_en_stereo.flac --language en --json`` run once; its stdout saved to a file."""
    proc = qa_engine("score", call_en_stereo, "--language", "en", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    path = tmp_path_factory.mktemp("cli") / "call_en_stereo.json"
    path.write_text(proc.stdout, encoding="utf-8")
    return path, json.loads(proc.stdout)


def test_score_json_prints_the_report_document(en_json: tuple[Path, dict[str, Any]]) -> None:
    _, doc = en_json
    assert TOP_KEYS <= set(doc)
    assert doc["call_id"] == "call_en_stereo" and doc["language"] == "en" and doc["agent_channel"] == 1
    assert doc["pack"]["id"] == "en"
    assert {"decode", "vad", "asr", "rules", "total"} <= set(doc["timings"])
    agent = " ".join(u["text"] for u in doc["utterances"] if u["role"] == "agent").lower()
    customer = " ".join(u["text"] for u in doc["utterances"] if u["role"] == "customer").lower()
    assert "thank you for calling" in agent and "goodbye" in agent
    assert "laptop" in customer and "laptop" not in agent
    for u in doc["utterances"]:
        assert {"role", "start", "end", "text", "channel", "words"} <= set(u)
        assert all(set(w) == {"start", "end", "word", "probability"} for w in u["words"])


def test_score_output_is_valid_check_input(en_json: tuple[Path, dict[str, Any]]) -> None:
    path, doc = en_json
    proc = qa_engine("check", path, "--json")
    assert proc.returncode == 0, proc.stderr
    checked = json.loads(proc.stdout)
    assert checked["pack"] == doc["pack"]
    assert checked["score"] == doc["score"] and checked["grade"] == doc["grade"]
    assert [f["rule_id"] for f in checked["findings"]] == [f["rule_id"] for f in doc["findings"]]
    assert [f["status"] for f in checked["findings"]] == [f["status"] for f in doc["findings"]]
    assert [(u["role"], u["text"]) for u in checked["utterances"]] == \
        [(u["role"], u["text"]) for u in doc["utterances"]]


def test_two_files_give_two_json_lines_with_one_model_load(call_en_stereo: Path, tmp_path: Path) -> None:
    short = tmp_path / "greeting.wav"
    x, sr = sf.read(call_en_stereo, dtype="float32")
    sf.write(short, x[: int(GREETING_S * sr)], sr)  # the agent's greeting only
    out = tmp_path / "out.jsonl"
    proc = qa_engine("-v", "score", call_en_stereo, short, "--language", "en", "--json", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""  # -o: everything goes to the file
    assert proc.stderr.count("loading ASR model") == 1, proc.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    docs = [json.loads(line) for line in lines]
    assert [d["call_id"] for d in docs] == ["call_en_stereo", "greeting"]
    assert all(TOP_KEYS <= set(d) for d in docs)
    assert "thank you for calling" in docs[1]["utterances"][0]["text"].lower()


def test_output_file_gets_the_text_report(call_en_stereo: Path, tmp_path: Path) -> None:
    short = tmp_path / "greeting.flac"
    x, sr = sf.read(call_en_stereo, dtype="float32")
    sf.write(short, x[: int(GREETING_S * sr)], sr)
    out = tmp_path / "report.txt"
    proc = qa_engine("score", short, "--language", "en", "-o", out)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith("call greeting  language=en")
    assert "agent channel: 1" in text and "score " in text
    assert "agent: Thank you for calling" in text


def _silent(path: Path) -> Path:
    sf.write(path, np.zeros((8000 * 3, 2), dtype=np.float32), 8000, subtype="PCM_16")
    return path


def _bad_file(kind: str, tmp_path: Path) -> Path:
    path = tmp_path / {"missing": "missing.wav", "empty": "empty.wav", "corrupt": "corrupt.wav",
                       "text": "notes.mp3", "silent": "silent.wav"}[kind]
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "corrupt":
        path.write_bytes(np.random.default_rng(7).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    elif kind == "text":
        path.write_text("This is not audio.\nJust some notes about a call.\n", encoding="utf-8")
    elif kind == "silent":
        _silent(path)
    return path


@pytest.mark.parametrize("kind,reason", [
    ("missing", "file not found"),
    ("empty", "empty"),
    ("corrupt", "corrupt"),
    ("text", "not audio"),
    ("silent", "silent"),
])
def test_bad_file_gives_one_error_line(kind: str, reason: str, tmp_path: Path) -> None:
    path = _bad_file(kind, tmp_path)
    proc = qa_engine("score", path, "--language", "en", "--json")
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("qa-engine: error: ") and str(path) in lines[0] and reason in lines[0], lines[0]


@pytest.mark.parametrize("args,reason", [
    (("--max-duration", "1"), "too long"),
    (("--agent-channel", "5"), "--agent-channel 5 does not exist"),
])
def test_bad_option_for_the_file_gives_one_error_line(args: tuple[str, ...], reason: str,
                                                      call_en_stereo: Path) -> None:
    proc = qa_engine("score", call_en_stereo, "--language", "en", *args)
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert str(call_en_stereo) in lines[0] and reason in lines[0], lines[0]


def test_negative_agent_channel_is_refused(call_en_stereo: Path) -> None:
    proc = qa_engine("score", call_en_stereo, "--agent-channel", "-1")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == ["qa-engine: error: --agent-channel must be 0 or more"]


def test_batch_with_a_bad_file_still_reports_the_good_one(call_en_stereo: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.flac"
    x, sr = sf.read(call_en_stereo, dtype="float32")
    sf.write(good, x[: int(GREETING_S * sr)], sr)
    bad = _bad_file("corrupt", tmp_path)
    proc = qa_engine("score", bad, good, "--language", "en", "--json")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    errors = proc.stderr.splitlines()
    assert len(errors) == 1 and str(bad) in errors[0] and "corrupt" in errors[0], proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1
    doc = json.loads(lines[0])
    assert doc["call_id"] == "good" and TOP_KEYS <= set(doc)


def test_progress_shows_each_file_with_eta_and_a_failed_one(call_en_stereo: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.flac"
    x, sr = sf.read(call_en_stereo, dtype="float32")
    sf.write(good, x[: int(GREETING_S * sr)], sr)
    bad = _bad_file("corrupt", tmp_path)
    proc = qa_engine("score", good, bad, "--language", "en", "--json", "--progress")
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    first = next(line for line in lines if line.startswith("[1/2]"))
    assert "good.flac" in first and "ETA" in first and "audio-min" in first, proc.stderr
    assert any(line.startswith("[2/2]") and "FAILED" in line for line in lines), proc.stderr
    assert lines[-1].startswith("done: 2 file(s), 1 failed"), proc.stderr
    assert len(proc.stdout.splitlines()) == 1  # the report still goes to stdout, progress only to stderr


def test_no_progress_when_stderr_is_not_a_terminal(call_en_stereo: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.flac"
    x, sr = sf.read(call_en_stereo, dtype="float32")
    sf.write(good, x[: int(GREETING_S * sr)], sr)
    proc = qa_engine("score", good, "--language", "en", "--json")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
