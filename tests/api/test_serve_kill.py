"""A real ``qa-engine serve`` SIGKILLed while audio jobs run, then started again: nothing lost, nothing duplicated.

Every accepted call ends scored exactly once: one report, one done job, its findings rows once, one ``call.scored``
webhook delivery (and one POST to the receiver) per call.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path

import httpx
import soundfile as sf

from qa_engine.app.settings import Settings
from qa_engine.app.webhooks import CLAIM_MARGIN_S

from .serve_process import SCRIPT, create_user, environment, free_port, stop, wait_until_up
from .test_e2e_server import AUDIO
from .test_webhooks import Receiver

EN_AUDIO = AUDIO.with_name("call_en_stereo.flac")
DONE_TIMEOUT_S = 300


def _start(data_dir: Path, port: int, log: Path, receiver: Receiver) -> subprocess.Popen[bytes]:
    env = {**environment(), "QA_ENGINE_WEBHOOK_ALLOW_HOSTS": "127.0.0.1"}
    with log.open("ab") as out:
        return subprocess.Popen([str(SCRIPT), "serve", "--data-dir", str(data_dir), "--port", str(port),
                                 "--workers", "1"], stdout=out, stderr=subprocess.STDOUT, env=env)


def _statuses(http: httpx.Client, ids: list[str], headers: dict[str, str]) -> list[str]:
    return [http.get(f"/api/v1/calls/{i}", headers=headers).json()["status"] for i in ids]


def test_sigkill_of_serve_while_audio_jobs_run_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    root = {"Authorization": f"Bearer {create_user(data_dir, 'root', '--role', 'admin')}"}
    create_user(data_dir, "alice", "--role", "agent", "--team", "t1")
    pcm16 = tmp_path / "zh_pcm16.wav"  # the same call in other bytes: another recording, its own ASR
    audio, rate = sf.read(AUDIO, dtype="float32")
    sf.write(pcm16, audio, rate, subtype="PCM_16")
    uploads = [(AUDIO, "zh", "k1"), (pcm16, "zh", "k2"), (EN_AUDIO, "en", "k3")]
    receiver = Receiver()
    port, log = free_port(), tmp_path / "server.log"
    server = _start(data_dir, port, log, receiver)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            wait_until_up(http, server, log)
            hook = http.post("/api/v1/webhooks", headers=root, json={"url": receiver.url, "events": ["call.scored"]})
            assert hook.status_code == 201, hook.text
            ids = []
            for path, language, label in uploads:
                with path.open("rb") as fh:
                    created = http.post("/api/v1/calls", headers=root, files={"file": (path.name, fh)},
                                        data={"agent": "alice", "language": language, "call_id": label})
                assert created.status_code == 202, created.text
                ids.append(created.json()["id"])
            # kill while a job is mid-ASR, after at least one call was scored (and its event queued)
            deadline = time.monotonic() + DONE_TIMEOUT_S
            while time.monotonic() < deadline:
                states = _statuses(http, ids, root)
                if "done" in states and "processing" in states:
                    break
                assert states.count("done") < len(ids), "every call was scored before the kill"
                time.sleep(0.1)
            os.kill(server.pid, signal.SIGKILL)
            server.wait()

            server = _start(data_dir, port, log, receiver)
            wait_until_up(http, server, log)
            deadline = time.monotonic() + DONE_TIMEOUT_S
            while time.monotonic() < deadline and _statuses(http, ids, root) != ["done"] * len(ids):
                time.sleep(0.5)
            assert _statuses(http, ids, root) == ["done"] * len(ids), log.read_text()[-3000:]
            # a delivery the killed server had claimed (sending it when killed) is sent again when its lease ends
            deadline = time.monotonic() + Settings().webhook_timeout_s + CLAIM_MARGIN_S + 15
            while time.monotonic() < deadline and len(receiver.requests) < len(ids):
                time.sleep(0.2)
            time.sleep(1.0)  # anything sent twice would arrive now
    finally:
        stop(server)
        receiver.close()

    with sqlite3.connect(data_dir / "qa-engine.db") as db:
        calls = {pk: (status, json.loads(report)) for pk, status, report in db.execute(
            "SELECT id, status, report FROM calls")}
        jobs = list(db.execute("SELECT call_pk, status, attempts FROM jobs WHERE kind = 'score_audio'"))
        findings = Counter(db.execute("SELECT call_pk, rule_id FROM findings"))
        deliveries = Counter(pk for (pk,) in db.execute(
            "SELECT call_pk FROM webhook_deliveries WHERE event = 'call.scored'"))
    assert sorted(calls) == sorted(ids) and all(status == "done" for status, _ in calls.values())
    assert sorted(pk for pk, _, _ in jobs) == sorted(ids) and {s for _, s, _ in jobs} == {"done"}
    assert max(a for _, _, a in jobs) == 2  # the interrupted job ran again, once
    for pk, (_, report) in calls.items():
        rules = [f["rule_id"] for f in report["findings"]]
        assert sorted(rules) == sorted({rule for (call, rule) in findings if call == pk})
    assert set(findings.values()) == {1}
    assert deliveries == Counter(ids)
    received = Counter(json.loads(r["body"])["id"] for r in receiver.requests)
    assert received == Counter(ids), received
    assert "Traceback" not in log.read_text(errors="replace")
