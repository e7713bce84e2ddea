"""One recording, three ways in: ``qa-engine score``, an upload to a real ``qa-engine serve``, ``qa-engine batch``.

Prints one row per path (score, grade, findings' statuses, utterances) and whether each equals the CLI's, so the
claim "every caller goes through the same scoring path" is checked on a real call, the issue's acceptance command:

    .venv/bin/python benchmarks/bench_parity.py                       # SNG1640 from ../shared/eval
    .venv/bin/python benchmarks/bench_parity.py --audio FILE --agent-channel 1 --language en

The upload is the same audio re-encoded (FLAC -> WAV or WAV -> FLAC), so the service cannot treat it as a
duplicate of anything and really runs ASR. Everything runs on this machine (127.0.0.1) in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_AUDIO = ROOT.parent / "shared/eval/audio_en/spokenwoz_stereo_calls/audio/SNG1640.wav"
CLI = [sys.executable, "-m", "qa_engine.cli"]


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """What must be equal whatever path scored the call."""
    return {"score": report["score"], "grade": report["grade"],
            "pack": (report["pack"]["id"], report["pack"]["version"]),
            "findings": [(f["rule_id"], f["status"]) for f in report["findings"]],
            "utterances": [(u["role"], u["text"]) for u in report["utterances"]]}


def run_cli(audio: Path, agent_channel: int, language: str, env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run([*CLI, "score", str(audio), "--agent-channel", str(agent_channel), "--language", language,
                          "--json"], check=True, capture_output=True, text=True, env=env)
    return dict(json.loads(out.stdout))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_service(audio: Path, agent_channel: int, language: str, work: Path, env: dict[str, str]) -> dict[str, Any]:
    data = work / "service"
    key = subprocess.run([*CLI, "users", "create", "admin", "--role", "admin", "--data-dir", str(data)],
                         check=True, capture_output=True, text=True, env=env).stdout.strip().splitlines()[-1]
    subprocess.run([*CLI, "users", "create", "alice", "--role", "agent", "--team", "t1", "--data-dir", str(data)],
                   check=True, capture_output=True, text=True, env=env)
    samples, rate = sf.read(str(audio), dtype="int16", always_2d=True)
    copy = work / (audio.stem + (".flac" if audio.suffix.lower() != ".flac" else ".wav"))
    sf.write(str(copy), samples, rate)  # re-encoded: same audio, other bytes
    port = free_port()
    server = subprocess.Popen([*CLI, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {key}"}
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("serve did not start")
                time.sleep(0.5)
            with copy.open("rb") as fh:
                created = client.post("/api/v1/calls", files={"file": (copy.name, fh, "application/octet-stream")},
                                      data={"agent": "alice", "agent_channel": str(agent_channel),
                                            "language": language})
            created.raise_for_status()
            call_id = created.json()["id"]
            deadline = time.monotonic() + 900
            while True:
                doc = client.get(f"/api/v1/calls/{call_id}").json()
                if doc["status"] in ("done", "failed"):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("the upload was not scored in 15 minutes")
                time.sleep(1)
            if doc["status"] != "done":
                raise RuntimeError(f"the service failed the call: {doc['error']}")
            return dict(doc["report"])
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def run_batch(audio: Path, agent_channel: int, language: str, work: Path, env: dict[str, str]) -> dict[str, Any]:
    source = work / "nightly"
    source.mkdir()
    (source / audio.name).symlink_to(audio)
    (source / f"{audio.stem}.json").write_text(json.dumps({"agent_channel": agent_channel, "language": language,
                                                           "agent": "alice"}))
    reports = work / "batch-report"
    subprocess.run([*CLI, "batch", str(source), "--data-dir", str(work / "batch-db"), "--workers", "1",
                    "--report-dir", str(reports), "--no-audio-copy"], check=True, capture_output=True, text=True,
                   env=env)
    from qa_engine.app.database import make_engine, make_session_factory
    from qa_engine.app.models import Call
    from qa_engine.app.settings import load_settings

    db_engine = make_engine(load_settings(work / "batch-db").database_url)
    try:
        with make_session_factory(db_engine)() as session:
            [call] = session.query(Call).all()
            return dict(call.report)
    finally:
        db_engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audio", type=Path, default=DEFAULT_AUDIO)
    parser.add_argument("--agent-channel", type=int, default=1)
    parser.add_argument("--language", default="en")
    args = parser.parse_args()
    if not args.audio.is_file():
        print(f"bench_parity: {args.audio} not found (it is in ../shared/eval)", file=sys.stderr)
        return 2
    env = {**os.environ, "QA_ENGINE_WORKERS": "1", "QA_ENGINE_LOG_FORMAT": "text"}
    with tempfile.TemporaryDirectory(prefix="qa-parity-") as tmp:
        work = Path(tmp)
        rows = {}
        for name, run in (("cli score", lambda: run_cli(args.audio, args.agent_channel, args.language, env)),
                          ("serve upload", lambda: run_service(args.audio, args.agent_channel, args.language, work,
                                                               env)),
                          ("batch", lambda: run_batch(args.audio, args.agent_channel, args.language, work, env))):
            t0 = time.perf_counter()
            rows[name] = (summary(run()), time.perf_counter() - t0)
    reference = rows["cli score"][0]
    print(f"# Parity: {args.audio.name} (agent channel {args.agent_channel}, {args.language})\n")
    print("| path | score | grade | findings (fail) | utterances | same as CLI | wall s |")
    print("|---|---|---|---|---|---|---|")
    for name, (row, seconds) in rows.items():
        fails = sum(1 for _, status in row["findings"] if status == "fail")
        same = {k: row[k] == reference[k] for k in reference}
        verdict = "yes" if all(same.values()) else "NO: " + ", ".join(k for k, ok in same.items() if not ok)
        print(f"| {name} | {row['score']} | {row['grade']} | {len(row['findings'])} ({fails}) | "
              f"{len(row['utterances'])} | {verdict} | {seconds:.1f} |")
    return 0 if all(rows[n][0] == reference for n in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
