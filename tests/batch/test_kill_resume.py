"""The real ``qa-engine batch`` process, SIGKILLed mid-run and started again: every good file scored exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import soundfile as sf

from .conftest import make_source

CLI = [sys.executable, "-m", "qa_engine.cli"]


def _variants(src: Path) -> None:
    """The same two clips re-encoded (other bytes, so other files to the batch): six good files in all."""
    for name in ("en1.flac", "day1/zh1.flac"):
        audio, sr = sf.read(src / name, dtype="float32")
        stem = (src / name).with_suffix("")
        sf.write(f"{stem}_pcm16.wav", audio, sr, subtype="PCM_16")
        sf.write(f"{stem}_float.wav", audio, sr, subtype="FLOAT")


def _rows(db: Path) -> list[tuple[str, str, str]]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        try:
            return list(conn.execute("SELECT call_id, status, content_hash FROM calls"))
        except sqlite3.OperationalError:  # tables not created yet
            return []


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited (its new parent reaps it)


def test_sigkill_then_restart_scores_each_good_file_once(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    _variants(src)
    data = tmp_path / "data"
    db = data / "qa-engine.db"
    args = [*CLI, "batch", str(src), "--data-dir", str(data), "--workers", "1", "--lease", "2", "--no-audio-copy",
            "--speakers", "1"]  # the clips are one voice each
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        if any(status == "done" for _, status, _ in _rows(db)):
            break
        time.sleep(0.05)
    assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read()!r}"  # type: ignore[union-attr]
    children = _children(proc.pid)
    assert children, "the batch runs its CPU work in worker processes"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.05)
    assert not [pid for pid in children if _alive(pid)], "worker processes outlived the killed batch (orphans)"
    before = _rows(db)
    good_done = [r for r in before if r[1] == "done"]
    assert 1 <= len(good_done) < 6, before  # killed in the middle

    again = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 1, again.stderr  # the corrupt and the empty file failed
    rows = _rows(db)
    done = [r for r in rows if r[1] == "done"]
    assert len(done) == 6 and len({r[2] for r in done}) == 6  # each good file exactly once
    assert sorted(r[0] for r in rows if r[1] == "failed") == ["corrupt", "empty"]
    assert not [r for r in rows if r[1] == "processing"]
    with sqlite3.connect(db) as conn:  # the killed run's record is not left running forever
        runs = list(conn.execute("SELECT status, error FROM jobs WHERE kind = 'batch' ORDER BY id"))
    assert [r[0] for r in runs] == ["failed", "failed"] and "interrupted" in runs[0][1], runs
    assert "skipped (already scored)" in again.stderr and "failed: " in again.stderr
