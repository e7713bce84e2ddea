"""Concurrent writers on SQLite never see "database is locked": a busy timeout, then retries.

Against the installed ``qa-engine serve`` process (its own thread pool and connection pool, as deployed): 20 clients
upload transcripts at the same time while others read, review and upload packs; every upload answers 201. And at the
engine: a write that waits longer than the busy timeout for another connection's lock is tried again and succeeds.
"""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from qa_engine.app import database

from .conftest import ZH_TRANSCRIPT
from .serve_process import SCRIPT, create_user, environment, free_port, stop, wait_until_up

WRITERS = 20
UPLOADS_PER_WRITER = 3


def _upload(base_url: str, headers: dict[str, str], n: int) -> list[tuple[int | str, str]]:
    answers: list[tuple[int | str, str]] = []
    with httpx.Client(base_url=base_url, timeout=120) as http:
        for i in range(UPLOADS_PER_WRITER):
            body = {**ZH_TRANSCRIPT, "agent": "alice", "call_id": f"concurrent-{n}-{i}"}
            try:
                response = http.post("/api/v1/calls", json=body, headers=headers)
                answers.append((response.status_code, response.text[:300]))
            except httpx.TransportError as exc:
                answers.append((f"dropped: {type(exc).__name__}", str(exc)))
    return answers


def _other_writes(base_url: str, headers: dict[str, str], n: int) -> list[tuple[int | str, str]]:
    """Reads and writes of other kinds meanwhile: list calls, override a finding, upload a pack version."""
    answers: list[tuple[int | str, str]] = []
    with httpx.Client(base_url=base_url, timeout=120) as http:
        listed = http.get("/api/v1/calls?limit=5", headers=headers)
        answers.append((listed.status_code, listed.text[:300]))
        for call in listed.json().get("items", [])[:2] if listed.status_code == 200 else []:
            override = http.post(f"/api/v1/calls/{call['id']}/findings/greeting/override", headers=headers,
                                 json={"status": "fail", "comment": f"writer {n}"})
            answers.append((override.status_code, override.text[:300]))
        pack = (Path(__file__).parents[2] / "rules" / "packs" / "zh-CN.yaml").read_text("utf-8")
        pack = "\n".join(f'version: "9.{n}"' if line.startswith("version:") else line for line in pack.splitlines())
        uploaded = http.post("/api/v1/packs", content=pack.encode(), headers={**headers,
                                                                              "Content-Type": "application/yaml"})
        answers.append((uploaded.status_code, uploaded.text[:300]))
    return answers


def test_concurrent_writers_on_sqlite_all_succeed(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    create_user(data_dir, "alice", "--role", "agent", "--team", "t1")
    admin = {"Authorization": f"Bearer {create_user(data_dir, 'root', '--role', 'admin')}"}
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen([str(SCRIPT), "serve", "--data-dir", str(data_dir), "--port", str(port),
                                   "--workers", "1"], stdout=out, stderr=subprocess.STDOUT, env=environment())
    base_url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base_url, timeout=30) as http:
            wait_until_up(http, server, log)
            assert http.post("/api/v1/calls", json={**ZH_TRANSCRIPT, "agent": "alice"},
                             headers=admin).status_code == 201
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=WRITERS + 5) as pool:
            uploads = [pool.submit(_upload, base_url, admin, n) for n in range(WRITERS)]
            others = [pool.submit(_other_writes, base_url, admin, n) for n in range(5)]
            upload_answers = [answer for future in uploads for answer in future.result()]
            other_answers = [answer for future in others for answer in future.result()]
        seconds = time.perf_counter() - started
    finally:
        stop(server)
    failed = [answer for answer in upload_answers if answer[0] != 201]
    assert not failed, f"{len(failed)} of {len(upload_answers)} uploads failed in {seconds:.1f} s: {failed[:3]}"
    assert all(isinstance(status, int) and status < 500 for status, _ in other_answers), other_answers
    server_log = log.read_text(errors="replace")
    assert "database is locked" not in server_log and "Traceback" not in server_log, server_log[-3000:]


def test_a_write_locked_past_the_busy_timeout_is_tried_again(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Another connection holds the write lock 4 times longer than the busy timeout: the write still succeeds."""
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 100)
    path = tmp_path / "locked.db"
    engine = database.make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("INSERT INTO t VALUES (0)")
        release = threading.Timer(0.4, lambda: holder.execute("COMMIT"))
        release.start()
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("SELECT count(*) FROM t")).scalar()  # a read first, as a request does
            conn.execute(text("INSERT INTO t VALUES (1)"))
        assert time.perf_counter() - started >= 0.3  # it did wait for the lock
        release.join()
        holder.close()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 2
    finally:
        engine.dispose()


def test_without_retries_the_same_write_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The control for the test above: the lock is really held past the busy timeout."""
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 100)
    monkeypatch.setattr(database, "SQLITE_LOCK_RETRIES", 0)
    path = tmp_path / "locked.db"
    engine = database.make_engine(f"sqlite:///{path}")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        holder.execute("BEGIN IMMEDIATE")
        release = threading.Timer(0.4, lambda: holder.execute("COMMIT"))
        release.start()
        with pytest.raises(OperationalError, match="database is locked"), engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
        release.join()
    finally:
        holder.close()
        engine.dispose()
