"""API throughput and latency on loopback: concurrent clients uploading transcripts and audio, and reading calls.

Starts the real server (``qa-engine serve`` in a subprocess, on a free loopback port, with a fresh data folder),
creates an admin and agents with ``qa-engine users create``, then runs each scenario with 1, 4 and 16 clients
(threads, one keep-alive ``httpx.Client`` each), after one untimed warm-up request per scenario:

- ``transcript``: ``POST /api/v1/calls`` with a zh transcript (scored at once, 201);
- ``audio``: ``POST /api/v1/calls`` multipart with ``tests/data/call_zh_stereo.flac`` (stored and queued, 202);
  every upload is a distinct recording (one sample changed, re-encoded before timing) so that duplicate detection
  does not answer from an earlier upload;
- ``read one`` / ``list``: ``GET /api/v1/calls/{id}`` and ``GET /api/v1/calls?limit=50``.

The server runs with ``--workers 0`` (no ASR while timing: audio uploads measure the API, not the speech model) and
a queue large enough for every upload. Clients and server share the machine, so on a 2-core VM the numbers are a
floor. Prints a table (scenario, clients, requests, req/s, p50/p95 ms, errors); ``--out FILE`` also saves it.

    .venv/bin/python benchmarks/bench_api.py [--db URL] [--clients 1,4,16] [--requests 160] [--audio-requests 48]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
QA_ENGINE = Path(sys.executable).with_name("qa-engine")
AUDIO = ROOT / "tests" / "data" / "call_zh_stereo.flac"
API = "/api/v1"
TRANSCRIPT: dict[str, Any] = json.loads((ROOT / "tests" / "data" / "transcript_zh_good.json").read_text("utf-8"))


@dataclass
class Result:
    scenario: str
    clients: int
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    wall: float = 0.0
    first_error: str = ""

    @property
    def requests(self) -> int:
        return len(self.latencies) + self.errors

    def row(self) -> str:
        lat = sorted(self.latencies)
        p50 = statistics.median(lat) * 1000 if lat else float("nan")
        p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))] * 1000 if lat else float("nan")
        rate = self.requests / self.wall if self.wall else 0.0
        return (f"{self.scenario:<11} {self.clients:>7} {self.requests:>8} {rate:>8.1f} {p50:>8.1f} {p95:>8.1f} "
                f"{self.errors:>6}")


HEADER = f"{'scenario':<11} {'clients':>7} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'errors':>6}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def qa_engine(*args: str, env: dict[str, str]) -> str:
    proc = subprocess.run([str(QA_ENGINE), *args], capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        sys.exit(f"bench_api: qa-engine {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout.strip().splitlines()[-1]


def start_server(data_dir: Path, db: str | None, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    args = [str(QA_ENGINE), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "0",
            "--data-dir", str(data_dir)] + (["--db", db] if db else [])
    log = open(data_dir / "server.log", "wb")  # noqa: SIM115  (closed with the process)
    server = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"bench_api: the server exited ({server.returncode}); see {data_dir / 'server.log'}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}{API}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.terminate()
    sys.exit("bench_api: the server did not answer /health within 60 s")


def audio_variants(count: int) -> list[bytes]:
    """``count`` distinct FLAC files: the test recording with one sample nudged per copy."""
    samples, rate = sf.read(AUDIO, dtype="int16", always_2d=True)
    out = []
    for i in range(count):
        variant = samples.copy()
        variant[i % len(variant), 0] = np.int16((int(variant[i % len(variant), 0]) + 1 + i // len(variant)) % 32767)
        buffer = io.BytesIO()
        sf.write(buffer, variant, rate, format="FLAC", subtype="PCM_16")
        out.append(buffer.getvalue())
    return out


def run_scenario(name: str, base: str, clients: int, total: int,
                 request: Callable[[httpx.Client, int], httpx.Response], expect: int) -> Result:
    result = Result(name, clients)
    lock = threading.Lock()
    counter = iter(range(total))

    def client_loop() -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                t0 = time.perf_counter()
                try:
                    response = http_call(http, i)
                    ok, detail = response.status_code == expect, f"{response.status_code} {response.text[:200]}"
                except httpx.HTTPError as exc:
                    ok, detail = False, f"{type(exc).__name__}: {exc}"
                elapsed = time.perf_counter() - t0
                with lock:
                    if ok:
                        result.latencies.append(elapsed)
                    else:
                        result.errors += 1
                        result.first_error = result.first_error or detail

    http_call = request
    t_start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(client_loop) for _ in range(clients)]:
            future.result()
    result.wall = time.perf_counter() - t_start
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL for the server (default: SQLite in a fresh data folder); "
                                     "use an empty database")
    parser.add_argument("--clients", default="1,4,16", help="client counts, comma-separated")
    parser.add_argument("--requests", type=int, default=160, help="requests per transcript/read run")
    parser.add_argument("--audio-requests", type=int, default=48, help="uploads per audio run")
    parser.add_argument("--out", type=Path, help="also write the table (markdown) to this file")
    args = parser.parse_args()
    client_counts = [int(c) for c in args.clients.split(",")]

    with tempfile.TemporaryDirectory(prefix="qa-bench-api-") as tmp:
        data_dir = Path(tmp)
        env = {**os.environ, "QA_ENGINE_DATA_DIR": str(data_dir), "QA_ENGINE_MAX_QUEUE": "1000000",
               "QA_ENGINE_LOG_FORMAT": "text"}
        if args.db:
            env["QA_ENGINE_DB_URL"] = args.db
        admin = qa_engine("users", "create", "bench-admin", "--role", "admin", env=env)
        agents = [f"agent{i}" for i in range(4)]
        for agent in agents:
            qa_engine("users", "create", agent, "--role", "agent", "--team", "bench", env=env)
        port = free_port()
        server = start_server(data_dir, args.db, port, env)
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {admin}"}
        try:
            n_audio = args.audio_requests * len(client_counts) + 1  # + one warm-up upload
            print(f"preparing {n_audio} distinct FLAC uploads ({AUDIO.name}) ...", file=sys.stderr)
            flacs = audio_variants(n_audio)
            ids: list[str] = []
            audio_next = iter(range(n_audio))

            def post_transcript(http: httpx.Client, i: int) -> httpx.Response:
                body = {**TRANSCRIPT, "call_id": f"bench-{time.time_ns()}-{i}", "agent": agents[i % len(agents)]}
                response = http.post(f"{API}/calls", json=body, headers=headers)
                if response.status_code == 201:
                    ids.append(response.json()["id"])
                return response

            def post_audio(http: httpx.Client, _i: int) -> httpx.Response:
                k = next(audio_next)
                files = {"file": (f"bench-{k}.flac", flacs[k], "audio/flac")}
                return http.post(f"{API}/calls", files=files, data={"agent": agents[k % len(agents)]},
                                 headers=headers)

            def get_one(http: httpx.Client, i: int) -> httpx.Response:
                return http.get(f"{API}/calls/{ids[i % len(ids)]}", headers=headers)

            def get_list(http: httpx.Client, _i: int) -> httpx.Response:
                return http.get(f"{API}/calls", params={"limit": 50}, headers=headers)

            scenarios: list[tuple[str, Callable[[httpx.Client, int], httpx.Response], int, int]] = [
                ("transcript", post_transcript, 201, args.requests),
                ("audio", post_audio, 202, args.audio_requests),
                ("read one", get_one, 200, args.requests),
                ("list", get_list, 200, args.requests),
            ]
            results = []
            for name, request, expect, total in scenarios:
                run_scenario("warm-up", base, 1, 1, request, expect)  # first use loads packs, fills caches
                for clients in client_counts:
                    result = run_scenario(name, base, clients, total, request, expect)
                    results.append(result)
                    print(result.row(), file=sys.stderr)
                    if result.first_error:
                        print(f"  first error: {result.first_error}", file=sys.stderr)
            with httpx.Client(base_url=base, headers=headers) as http:
                stored = http.get(f"{API}/calls", params={"limit": 1}).json().get("total")
        finally:
            server.terminate()
            server.wait(timeout=30)

    backend = "PostgreSQL" if args.db and args.db.startswith("postgres") else "SQLite (WAL)"
    title = (f"API on loopback, qa-engine serve --workers 0, {backend}, {os.cpu_count()} CPUs "
             f"({platform.machine()}), clients and server on the same machine; {stored} calls stored at the end")
    table = "\n".join([HEADER, *(r.row() for r in results)])
    print(title)
    print(table)
    if args.out:
        heading = f"# API throughput and latency — {date.today().isoformat()}"
        args.out.write_text(f"{heading}\n\n```\n{title}\n{table}\n```\n", encoding="utf-8")


if __name__ == "__main__":
    main()
