"""End to end: the installed ``qa-engine serve`` process, users from ``qa-engine users create``, a real
recording uploaded over HTTP, processed by the server's own worker (Whisper base), polled until scored."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from .serve_process import SCRIPT, create_user, environment, free_port, stop, wait_until_up

AUDIO = Path(__file__).parents[1] / "data" / "call_zh_stereo.flac"
SCORE_TIMEOUT_S = 300


def _poll_until_finished(http: httpx.Client, call_id: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + SCORE_TIMEOUT_S
    while time.monotonic() < deadline:
        response = http.get(f"/api/v1/calls/{call_id}", headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(1.0)
    raise AssertionError(f"call {call_id} not processed within {SCORE_TIMEOUT_S} s")


def test_server_scores_an_uploaded_recording(tmp_path: Path) -> None:
    assert SCRIPT.exists(), f"console script not installed next to {sys.executable}"
    data_dir = tmp_path / "data"
    sue = {"Authorization": f"Bearer {create_user(data_dir, 'sue', '--role', 'supervisor', '--team', 't1')}"}
    alice = {"Authorization": f"Bearer {create_user(data_dir, 'alice', '--role', 'agent', '--team', 't1')}"}
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen([str(SCRIPT), "serve", "--data-dir", str(data_dir), "--port", str(port),
                                   "--workers", "1"],
                                  stdout=out, stderr=subprocess.STDOUT, env=environment())
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            wait_until_up(http, server, log)
            with AUDIO.open("rb") as fh:
                created = http.post("/api/v1/calls", headers=sue,
                                    files={"file": (AUDIO.name, fh, "audio/flac")},
                                    data={"agent": "alice", "agent_channel": "0", "language": "zh",
                                          "call_id": "e2e-zh-1", "started_at": "2025-02-03T10:00:00+08:00"})
            assert created.status_code == 202, created.text
            call_id = created.json()["id"]
            call = _poll_until_finished(http, call_id, alice)
            assert call["status"] == "done", (call.get("error"), log.read_text()[-2000:])
            report = call["report"]
            agent_turns = [u for u in report["utterances"] if u["role"] == "agent"]
            customer_turns = [u for u in report["utterances"] if u["role"] == "customer"]
            assert agent_turns and customer_turns
            assert {u["channel"] for u in agent_turns} == {0} and {u["channel"] for u in customer_turns} == {1}
            greeting = next(f for f in report["findings"] if f["rule_id"] == "greeting")
            assert greeting["status"] == "pass" and greeting["evidence"], greeting
            assert greeting["evidence"][0]["start"] < 15
            assert call["score"] == report["score"] and 50 <= call["score"] <= 100 and call["grade"]
            assert call["agent"] == "alice" and call["team"] == "t1" and call["call_id"] == "e2e-zh-1"
            audio = http.get(f"/api/v1/calls/{call_id}/audio", headers={**alice, "Range": "bytes=0-3"})
            assert audio.status_code == 206 and audio.content == b"fLaC"
    finally:
        stop(server)
    assert server.returncode is not None and "Traceback" not in log.read_text(errors="replace")
