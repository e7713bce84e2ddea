"""Source scanning, manifests (errors as FILE:LINE: field: problem), --since; no model needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from qa_engine.app.batch.source import ManifestError, load_source, newer_than, parse_since, read_manifest, scan_folder
from qa_engine.errors import QaEngineError


def test_folder_is_recursive_and_reads_sidecars(source: Path) -> None:
    items = {i.path.name: i for i in scan_folder(source)}
    assert set(items) == {"en1.flac", "zh1.flac", "corrupt.wav", "empty.flac"}
    en = items["en1.flac"]
    assert (en.agent, en.team, en.language, en.call_id) == ("alice", "t1", "en", "EN-1")
    assert en.started_at == datetime(2026, 11, 22, 9, tzinfo=UTC)
    assert items["zh1.flac"].call_id == "zh1"  # no call_id in the sidecar: the file name
    assert items["corrupt.wav"].agent is None


def test_bad_sidecar_names_file_and_field(source: Path) -> None:
    (source / "en1.json").write_text('{"agent_channel": "left"}')
    with pytest.raises(ManifestError) as err:
        scan_folder(source)
    assert err.value.problems == [f"{source / 'en1.json'}:1: agent_channel: 'left' is not a channel number (0, 1, ...)"]


def test_csv_manifest(tmp_path: Path) -> None:
    (tmp_path / "a.wav").write_bytes(b"x")
    m = tmp_path / "calls.csv"
    m.write_text("path,call_id,agent,team,started_at,agent_channel,language\n"
                 "a.wav,C1,alice,t1,2026-11-22T08:00:00+08:00,1,zh\n"
                 "/abs/b.wav,,bob,,,,\n")
    a, b = read_manifest(m)
    assert a.path == tmp_path / "a.wav" and a.call_id == "C1" and a.agent_channel == 1 and a.language == "zh"
    assert a.started_at == datetime(2026, 11, 22, 0, tzinfo=UTC)
    assert b.path == Path("/abs/b.wav") and b.call_id == "b" and b.team is None and b.agent_channel is None


def test_csv_manifest_errors_name_line_and_field(tmp_path: Path) -> None:
    m = tmp_path / "calls.csv"
    m.write_text("path,agent,started_at,agent_channel,language\n"
                 "a.wav,alice,yesterday,0,zh\n"
                 ",bob,,1,en\n"
                 "c.wav,carol,,-1,fr\n")
    with pytest.raises(ManifestError) as err:
        read_manifest(m)
    assert err.value.problems == [
        f"{m}:2: started_at: 'yesterday' is not an ISO 8601 date-time",
        f"{m}:3: path: missing (the audio file, relative to the manifest)",
        f"{m}:4: agent_channel: '-1' is not a channel number (0, 1, ...)",
        f"{m}:4: language: 'fr' is not supported (zh, en or auto)",
    ]
    assert f"{m}:2: started_at" in str(err.value)


def test_jsonl_manifest_errors(tmp_path: Path) -> None:
    m = tmp_path / "calls.jsonl"
    m.write_text('{"path": "a.wav", "agent": "alice"}\n\n{"path": "b.wav", "agnet": "bob"}\n[1, 2]\n{"path": 3.5}\n'
                 '{broken\n')
    with pytest.raises(ManifestError) as err:
        read_manifest(m)
    problems = err.value.problems
    assert problems[0].startswith(f"{m}:3: agnet: unknown field")
    assert problems[1] == f"{m}:4: line: expected a JSON object, got list"
    assert problems[2] == f"{m}:5: path: expected text, got float"
    assert problems[3].startswith(f"{m}:6: line: not JSON")


def test_load_source_refuses_other_files(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(QaEngineError, match="folder or a manifest"):
        load_source(tmp_path / "x.txt")
    with pytest.raises(QaEngineError, match="no such folder"):
        load_source(tmp_path / "missing")


def test_since_uses_started_at_else_mtime(source: Path) -> None:
    items = scan_folder(source)
    old = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    os.utime(source / "corrupt.wav", (old, old))
    since = datetime(2026, 6, 1, tzinfo=UTC)
    kept = {i.path.name for i in newer_than(items, since)}
    assert kept == {"en1.flac", "zh1.flac", "empty.flac"}  # en1 started 2026-11-22; corrupt.wav is old
    kept = {i.path.name for i in newer_than(items, datetime(2026, 11, 23, tzinfo=UTC))}
    assert "en1.flac" not in kept and "zh1.flac" in kept


def test_parse_since() -> None:
    now = datetime(2026, 11, 23, 6, tzinfo=UTC)
    assert parse_since("36h", now) == now - timedelta(hours=36)
    assert parse_since("2d", now) == now - timedelta(days=2)
    assert parse_since("2026-11-22T18:00:00+00:00") == datetime(2026, 11, 22, 18, tzinfo=UTC)
    with pytest.raises(QaEngineError, match="--since 'last week'"):
        parse_since("last week")


# -- sidecars and manifest lines found by benchmarks/fuzz_transcripts.py ----------------------------------------
DEEP = "[" * 100_000 + "]" * 100_000
SCRIPT = Path(sys.executable).with_name("qa-engine")


def _one_sidecar(tmp_path: Path, text: str) -> Path:
    (tmp_path / "call.wav").write_bytes(b"RIFF")
    sidecar = tmp_path / "call.json"
    sidecar.write_text(text, encoding="utf-8")
    return sidecar


@pytest.mark.parametrize(("text", "problem"), [
    pytest.param('{"agent": ' + DEEP + "}", "JSON nested deeper than 64 levels", id="nested 100k deep"),
    pytest.param('{"agent": "a", "x": ' + "[" * 1000 + "]" * 1000 + "}", "JSON nested deeper than 64 levels",
                 id="nested 1000 deep"),
    pytest.param('{"agent": ' + "9" * 5000 + "}", "a number in the JSON is too long", id="5000-digit integer"),
])
def test_a_sidecar_python_cannot_read_is_a_problem_naming_the_file(tmp_path: Path, text: str, problem: str) -> None:
    """These were a RecursionError / ValueError traceback out of ``qa-engine batch``."""
    sidecar = _one_sidecar(tmp_path, text)
    with pytest.raises(ManifestError) as err:
        scan_folder(tmp_path)
    assert err.value.problems[0].startswith(f"{sidecar}:1: file: not a JSON object ({problem}")


def test_a_manifest_line_nested_too_deep_is_named(tmp_path: Path) -> None:
    m = tmp_path / "calls.jsonl"
    m.write_text('{"path": "a.wav"}\n{"path": "b.wav", "x": ' + DEEP + "}\n")
    with pytest.raises(ManifestError) as err:
        read_manifest(m)
    assert err.value.problems == [f"{m}:2: line: not JSON (JSON nested deeper than 64 levels)"]


def test_a_sidecar_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    """The manifest reader already allowed a UTF-8 BOM; a sidecar written by the same Windows tool was refused."""
    (tmp_path / "call.wav").write_bytes(b"RIFF")
    (tmp_path / "call.json").write_bytes(b'\xef\xbb\xbf{"agent": "alice"}')
    assert [item.agent for item in scan_folder(tmp_path)] == ["alice"]


@pytest.mark.parametrize(("field", "value", "problem"), [
    pytest.param("agent", "a" * 129, "agent: longer than 128 characters (129)", id="agent too long"),
    pytest.param("team", "t" * 129, "team: longer than 128 characters (129)", id="team too long"),
    pytest.param("call_id", "c" * 257, "call_id: longer than 256 characters (257)", id="call_id too long"),
    pytest.param("agent", "al\x00ice", "agent: contains a NUL character", id="NUL in agent"),
    pytest.param("team", "t\ud800", "team: contains a lone surrogate (\\ud800)", id="surrogate in team"),
    pytest.param("agent_channel", 2**70, "agent_channel: 1180591620717411303424 is more than 63", id="2**70 channel"),
    pytest.param("agent_channel", "64", "agent_channel: 64 is more than 63", id="channel 64"),
    pytest.param("agent_channel", True, "agent_channel: True is not a channel number", id="boolean channel"),
])
def test_a_sidecar_value_the_database_cannot_store_is_named(tmp_path: Path, field: str, value: object,
                                                            problem: str) -> None:
    """Refused when the source is read, before any file is scored: these failed the claim's INSERT mid-run
    (PostgreSQL: value too long, NUL; both: integer out of range), or were stored as given (SQLite)."""
    sidecar = _one_sidecar(tmp_path, json.dumps({field: value}))
    with pytest.raises(ManifestError) as err:
        scan_folder(tmp_path)
    assert err.value.problems[0].startswith(f"{sidecar}:1: {problem}"), err.value.problems


def test_a_huge_value_is_cut_in_the_message(tmp_path: Path) -> None:
    _one_sidecar(tmp_path, json.dumps({"agent_channel": "话" * 1_000_000}))
    with pytest.raises(ManifestError) as err:
        scan_folder(tmp_path)
    assert len(str(err.value)) < 400 and "(1000002 characters)" in str(err.value)


def test_batch_with_a_deeply_nested_sidecar_is_one_error(tmp_path: Path) -> None:
    """The installed console script: exit code 2 and the problem, no traceback."""
    src = tmp_path / "src"
    src.mkdir()
    sidecar = _one_sidecar(src, '{"agent": ' + DEEP + "}")
    done = subprocess.run([str(SCRIPT), "batch", str(src), "--dry-run", "--db", f"sqlite:///{tmp_path / 'q.db'}",
                           "--data-dir", str(tmp_path / "data")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert f"{sidecar}:1: file: not a JSON object (JSON nested deeper than 64 levels)" in done.stderr
