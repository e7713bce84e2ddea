"""Abuse cases against a real ``qa-engine serve`` (default settings, fresh data dir, 127.0.0.1 only).

Each probe is what an attacker or a careless client sends; the table says what the server answered, how long it
took, how much the server process grew, and whether ``/healthz`` still answered within 1 s afterwards (and,
for the probes that can stall the server, throughout):

    .venv/bin/python benchmarks/bench_abuse.py [--quick]      # --quick: skip the 4-hour file and the kill test

Nothing here leaves the machine: the server listens on 127.0.0.1 and the webhook probes only register URLs.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "qa_engine.cli"]
CALL = ROOT / "tests/data/call_en_stereo.flac"


@dataclass
class Row:
    probe: str
    expected: str
    status: str
    seconds: float
    growth_mb: float | None = None
    worst_healthz_s: float | None = None
    healthy_after: bool = True
    note: str = ""
    expected_ok: bool = True  # the probe's own verdict (e.g. a forged cookie refused, a webhook refused)

    def ok(self) -> bool:
        return self.expected_ok and self.healthy_after and not self.status.startswith("5") and (
            "dropped" not in self.status and "timeout" not in self.status) and (
            self.worst_healthz_s is None or self.worst_healthz_s <= 1.0) and (
            self.growth_mb is None or self.growth_mb <= 500)


@dataclass
class Server:
    data: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    keys: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str, stdin: str | None = None) -> str:
        out = subprocess.run([*CLI, *args, "--data-dir", str(self.data)], input=stdin, capture_output=True,
                             text=True, env=self.env, check=True)
        return out.stdout

    def start(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.proc = subprocess.Popen([*CLI, "serve", "--host", "127.0.0.1", "--port", str(self.port),
                                      "--data-dir", str(self.data)], env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if healthz(self.base) is not None:
                return
            time.sleep(0.3)
        raise RuntimeError("serve did not start")

    def kill(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=60)
        self.proc = None

    def rss_mb(self) -> float:
        if self.proc is None:
            return 0.0
        total = 0
        for pid in [self.proc.pid, *_children(self.proc.pid)]:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            m = re.search(r"VmRSS:\s+(\d+) kB", status)
            total += int(m.group(1)) if m else 0
        return total / 1024

    def client(self, user: str | None = "admin", timeout: float = 60) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[user]}"} if user else {}
        return httpx.Client(base_url=self.base, headers=headers, timeout=timeout)


def _children(pid: int) -> list[int]:
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    out = [int(k) for k in kids]
    for k in list(out):
        out += _children(k)
    return out


def healthz(base: str, timeout: float = 5.0) -> float | None:
    """Seconds /healthz took, or None when it did not answer 200."""
    t0 = time.perf_counter()
    try:
        r = httpx.get(f"{base}/healthz", timeout=timeout)
    except httpx.HTTPError:
        return None
    return time.perf_counter() - t0 if r.status_code == 200 else None


@contextmanager
def watch(server: Server) -> Iterator[dict[str, float]]:
    """Poll /healthz and the server's memory while the body runs: worst latency and peak growth."""
    seen = {"worst": 0.0, "peak": server.rss_mb(), "start": server.rss_mb()}
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            took = healthz(server.base, timeout=10)
            seen["worst"] = max(seen["worst"], took if took is not None else 10.0)
            seen["peak"] = max(seen["peak"], server.rss_mb())
            stop.wait(0.2)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join()


def status_of(call: Callable[[], httpx.Response]) -> tuple[str, float, str]:
    t0 = time.perf_counter()
    try:
        r = call()
    except httpx.RemoteProtocolError:
        return "dropped connection", time.perf_counter() - t0, ""
    except httpx.TimeoutException:
        return "timeout", time.perf_counter() - t0, ""
    detail = ""
    try:
        body = r.json()
        detail = str(body.get("detail", ""))[:70] if isinstance(body, dict) else ""
    except ValueError:
        pass
    return str(r.status_code), time.perf_counter() - t0, detail


def transcript(text: str = "thank you for calling, how can I help you", **extra: Any) -> dict[str, Any]:
    doc = {"language": "en", "agent": "alice", "utterances": [
        {"role": "agent", "start": 0.0, "end": 2.0, "text": text},
        {"role": "customer", "start": 2.5, "end": 4.0, "text": "I want to check my order"}]}
    doc.update(extra)
    return doc


def source_strings() -> list[str]:
    """Every string literal of 8+ characters in the source: candidate signing keys an attacker would try."""
    found: set[str] = {"change-me-dev-only"}
    for path in [*ROOT.glob("qa_engine/**/*.py"), *ROOT.glob("api/**/*.py")]:
        found.update(m.group(2) for m in re.finditer(r"([\"'])([^\"'\n]{8,80})\1", path.read_text()))
    return sorted(found)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def forged_cookie(key: str, user_id: int) -> str:
    """The stateless cookie the service used to accept: base64(user, expiry) "." HMAC-SHA256 with ``key``."""
    payload = _b64(json.dumps({"u": user_id, "e": int(time.time()) + 3600}, separators=(",", ":")).encode())
    return f"{payload}.{_b64(hmac.new(key.encode(), f'session:{payload}'.encode(), hashlib.sha256).digest())}"


def hostile_pack() -> str:
    return """pack: evil
version: "1"
language: en
grades: {excellent: 90, good: 80, pass: 60, fail: 0}
rules:
  - id: greeting
    type: phrase_in_window
    summary: catastrophic backtracking on Python's re
    role: agent
    window: {anchor: first_agent_turns, turns: 2, within_s: 15}
    match:
      patterns: ['(a|aa)+$', '(x+x+)+y']
    weight: 10
"""


def hours_flac(path: Path, hours: float) -> None:
    """A tiny FLAC that decodes to ``hours`` of a faint tone (compresses to almost nothing)."""
    rate, block = 8000, 8000 * 60
    t = np.arange(block) / rate
    tone = (np.sin(2 * np.pi * 440 * t) * 200).astype(np.int16)
    with sf.SoundFile(str(path), "w", samplerate=rate, channels=1, format="FLAC", subtype="PCM_16") as f:
        for _ in range(int(hours * 60)):
            f.write(tone)


def run(quick: bool) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="qa-abuse-") as tmp:
        work = Path(tmp)
        server = Server(work / "data", env={**os.environ, "QA_ENGINE_LOG_FORMAT": "text"})
        server.keys["admin"] = server.cli("users", "create", "admin", "--role", "admin").strip().splitlines()[-1]
        server.keys["sup1"] = server.cli("users", "create", "sup1", "--role", "supervisor", "--team",
                                         "t1").strip().splitlines()[-1]
        server.keys["sup2"] = server.cli("users", "create", "sup2", "--role", "supervisor", "--team",
                                         "t2").strip().splitlines()[-1]
        server.keys["alice"] = server.cli("users", "create", "alice", "--role", "agent", "--team",
                                          "t1").strip().splitlines()[-1]
        server.start()
        try:
            rows += probe_cookies(server)
            rows += probe_regex(server)
            rows += probe_bodies(server)
            rows += probe_malformed(server)
            rows += probe_authz(server)
            rows += probe_webhooks(server)
            rows += probe_concurrency(server)
            if not quick:
                rows += probe_hours(server, work)
                rows += probe_kill(server, work)
        finally:
            server.kill()
    return rows


def after(server: Server, row: Row) -> Row:
    took = healthz(server.base, timeout=1.0)
    row.healthy_after = took is not None and took <= 1.0
    return row


def probe_cookies(server: Server) -> list[Row]:
    keys = source_strings()
    accepted = 0
    t0 = time.perf_counter()
    with httpx.Client(base_url=server.base, timeout=10) as c:
        for key in keys:
            for uid in (1, 2, 3):
                r = c.get("/api/v1/calls", cookies={"qa_session": forged_cookie(key, uid)})
                accepted += r.status_code == 200
    return [after(server, Row("cookie forged with any source string (x3 users)", "401",
                              f"200 x{accepted}" if accepted else "401/403", time.perf_counter() - t0,
                              note=f"{len(keys)} strings tried", expected_ok=accepted == 0))]


def probe_regex(server: Server) -> list[Row]:
    out = []
    with server.client() as c:
        status, secs, detail = status_of(lambda: c.post("/api/v1/packs", content=hostile_pack(),
                                                        headers={"Content-Type": "application/yaml"}))
        out.append(after(server, Row("pack with backtracking patterns", "201 (linear engine) or 422", status, secs,
                                     note=detail)))
        with watch(server) as seen:
            status, secs, detail = status_of(lambda: c.post("/api/v1/calls", json=transcript(
                "x" * 27 + " " + "a" * 30 + "b", pack="evil")))
        out.append(after(server, Row("transcript 'xxxx… aaaa…b' scored with that pack", "201/422, healthz < 1 s",
                                     status, secs, worst_healthz_s=seen["worst"], note=detail)))
    return out


def probe_bodies(server: Server) -> list[Row]:
    out = []
    big = b'{"a": "' + b"x" * (250 << 20) + b'"}'
    with httpx.Client(base_url=server.base, timeout=120) as anon:
        start = server.rss_mb()
        status, secs, _ = status_of(lambda: anon.post("/api/v1/packs", content=big,
                                                      headers={"Content-Type": "application/json"}))
        out.append(after(server, Row("250 MB body to /packs without a key", "401/413 before reading", status, secs,
                                     growth_mb=server.rss_mb() - start, expected_ok=status in ("401", "413"))))
    with server.client(timeout=120) as c:
        start = server.rss_mb()
        utts = [{"role": "agent", "start": i, "end": i + 0.5, "text": "x" * 200} for i in range(300_000)]
        body = json.dumps({"language": "en", "agent": "alice", "utterances": utts})
        status, secs, detail = status_of(lambda: c.post("/api/v1/calls", content=body,
                                                        headers={"Content-Type": "application/json"}))
        out.append(after(server, Row(f"{len(body) >> 20} MB transcript", "413/422", status, secs,
                                     growth_mb=server.rss_mb() - start, note=detail,
                                     expected_ok=status in ("413", "422"))))
    return out


MALFORMED: list[tuple[str, str, Any]] = [
    ("lone surrogate in text", "POST", transcript("hello \ud800 there")),
    ("lone surrogate in call_id", "POST", transcript(call_id="\udfff")),
    ("400-digit number", "POST", {**transcript(), "utterances": [{"role": "agent", "start": int("9" * 400),
                                                                   "end": 1, "text": "hi"}]}),
    ("wrong type in words", "POST", {**transcript(), "utterances": [{"role": "agent", "start": 0, "end": 1,
                                                                     "text": "hi", "words": "nope"}]}),
    ("wrong type in probability", "POST", {**transcript(), "utterances": [{
        "role": "agent", "start": 0, "end": 1, "text": "hi",
        "words": [{"start": 0, "end": 1, "word": "hi", "probability": "high"}]}]}),
    ("started_at year 1 with offset", "POST", transcript(started_at="0001-01-01T00:00:00+05:00")),
    ("started_at year 9999 with offset", "POST", transcript(started_at="9999-12-31T23:59:59-05:00")),
    ("duration 1e308", "POST", transcript(duration=1e308)),
    ("negative times", "POST", {**transcript(), "utterances": [{"role": "agent", "start": -5, "end": -1,
                                                                "text": "hi"}]}),
    ("/calls?to=9999-12-31", "GET", "/api/v1/calls?to=9999-12-31"),
    ("/calls?from=0001-01-01", "GET", "/api/v1/calls?from=0001-01-01"),
    ("/calls?to=9999-12-31T23:00-05:00", "GET", "/api/v1/calls?to=9999-12-31T23:00:00-05:00"),
    ("ISO week 0001-W01", "GET", "/api/v1/analysis/weekly?week=0001-W01"),
    ("ISO week 9999-W52", "GET", "/api/v1/analysis/weekly?week=9999-W52"),
    ("call id of 400 digits", "GET", "/api/v1/calls/" + "9" * 400),
    ("job id of 400 digits", "GET", "/api/v1/jobs/" + "9" * 400),
]


def probe_malformed(server: Server) -> list[Row]:
    out = []
    with server.client() as c:
        for name, method, payload in MALFORMED:
            if method == "GET":  # a date at the edge of the calendar may be valid (200) or refused (4xx)
                status, secs, detail = status_of(lambda p=payload: c.get(p))
                out.append(after(server, Row(name, "200 or 4xx", status, secs, note=detail,
                                             expected_ok=status == "200" or status.startswith("4"))))
                continue
            else:
                raw = json.dumps(payload, ensure_ascii=True).replace("\\\\ud", "\\ud").encode()
                status, secs, detail = status_of(lambda r=raw: c.post("/api/v1/calls", content=r, headers={
                    "Content-Type": "application/json"}))
            out.append(after(server, Row(name, "4xx", status, secs, note=detail, expected_ok=status.startswith("4"))))
        nested = b"[" * 100_000 + b"]" * 100_000
        status, secs, detail = status_of(lambda: c.post("/api/v1/calls", content=nested,
                                                        headers={"Content-Type": "application/json"}))
        out.append(after(server, Row("JSON nested 100000 deep", "4xx", status, secs, note=detail,
                                     expected_ok=status.startswith("4"))))
        yaml_nested = ("a: " + "[" * 50_000 + "]" * 50_000).encode()
        status, secs, detail = status_of(lambda: c.post("/api/v1/packs/validate", content=yaml_nested,
                                                        headers={"Content-Type": "application/yaml"}))
        out.append(after(server, Row("YAML nested 50000 deep", "4xx", status, secs, note=detail,
                                     expected_ok=status.startswith("4"))))
        pack = hostile_pack().replace('version: "1"', f'version: "{"9" * 5000}"').replace("evil", "longver")
        status, secs, detail = status_of(lambda: c.post("/api/v1/packs", content=pack,
                                                        headers={"Content-Type": "application/yaml"}))
        out.append(after(server, Row("5000-digit pack version", "4xx", status, secs, note=detail,
                                     expected_ok=status.startswith("4"))))
    return out


def probe_authz(server: Server) -> list[Row]:
    with server.client("alice") as agent:
        status, secs, detail = status_of(lambda: agent.post("/api/v1/calls", json=transcript(team="t2")))
    seen_by = {}
    for sup in ("sup1", "sup2"):
        with server.client(sup) as c:
            seen_by[sup] = [item["agent"] for item in c.get("/api/v1/calls?agent=alice").json().get("items", [])]
    note = f"visible to sup1: {len(seen_by['sup1'])}, to sup2 (other team): {len(seen_by['sup2'])}"
    verdict = status if not seen_by["sup2"] else f"{status} LEAK"
    return [after(server, Row("agent uploads with team t2", "403, or filed under t1", verdict, secs, note=note,
                              expected_ok=not seen_by["sup2"]))]


def probe_webhooks(server: Server) -> list[Row]:
    out = []
    with server.client() as c:
        for url in ("http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:22/", "http://2130706433/",
                    "http://0.0.0.0/", "http://[::1]/", "http://10.0.0.1/"):
            status, secs, detail = status_of(lambda u=url: c.post("/api/v1/webhooks", json={
                "url": u, "events": ["call.scored"]}))
            out.append(after(server, Row(f"webhook to {url}", "422", status, secs, note=detail,
                                         expected_ok=status == "422")))
    return out


def probe_concurrency(server: Server) -> list[Row]:
    statuses: list[str] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        with server.client() as c:
            status, _, _ = status_of(lambda: c.post("/api/v1/calls", json=transcript(call_id=f"burst-{i}")))
        with lock:
            statuses.append(status)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    worst = "5xx" if any(s.startswith("5") for s in statuses) else ",".join(f"{k} x{v}" for k, v in counts.items())
    return [after(server, Row("20 concurrent transcript uploads", "all 201 (or all 403 if agents may not upload)",
                              worst, time.perf_counter() - t0, expected_ok=len(counts) == 1))]


def probe_hours(server: Server, work: Path) -> list[Row]:
    path = work / "four-hours.flac"
    hours_flac(path, 4.0)
    size_mb = path.stat().st_size / 1e6
    with server.client(timeout=120) as c, watch(server) as seen:
        with path.open("rb") as fh:
            status, secs, detail = status_of(lambda: c.post("/api/v1/calls", files={"file": (path.name, fh)},
                                                            data={"agent": "alice", "language": "en"}))
        call_id = None
        if status == "202":
            call_id = c.get("/api/v1/calls?agent=alice&sort=-created_at").json()["items"][0]["id"]
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                doc = c.get(f"/api/v1/calls/{call_id}").json()
                if doc["status"] in ("done", "failed"):
                    detail = f"job {doc['status']}: {str(doc.get('error') or '')[:50]}"
                    break
                time.sleep(1)
    return [after(server, Row(f"{size_mb:.1f} MB FLAC decoding to 4 h", "refused, or growth < 500 MB", status, secs,
                              growth_mb=seen["peak"] - seen["start"], worst_healthz_s=seen["worst"], note=detail))]


def probe_kill(server: Server, work: Path) -> list[Row]:
    x, sr = sf.read(str(CALL), dtype="float32")
    ids = []
    t0 = time.perf_counter()
    with server.client() as c:
        for i in range(3):
            path = work / f"kill-{i}.wav"
            sf.write(str(path), x * (0.9 - 0.1 * i), sr)  # different bytes: no duplicates
            with path.open("rb") as fh:
                r = c.post("/api/v1/calls", files={"file": (path.name, fh)},
                           data={"agent": "alice", "language": "en", "agent_channel": "1"})
            ids.append(r.json()["id"])
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # kill while the first job is being processed
            if any(c.get(f"/api/v1/calls/{i}").json()["status"] == "processing" for i in ids):
                break
            time.sleep(0.2)
    server.kill(signal.SIGKILL)
    server.start()
    with server.client() as c:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            docs = [c.get(f"/api/v1/calls/{i}").json() for i in ids]
            if all(d["status"] in ("done", "failed") for d in docs):
                break
            time.sleep(1)
    db = sqlite3.connect(str(server.data / "qa-engine.db"))
    try:
        dup_findings = db.execute("SELECT COUNT(*) FROM (SELECT call_pk, rule_id FROM findings GROUP BY call_pk, "
                                  "rule_id HAVING COUNT(*) > 1)").fetchone()[0]
    except sqlite3.Error as exc:
        dup_findings = f"? ({exc})"
    finally:
        db.close()
    done = sum(d["status"] == "done" for d in docs)
    status = f"{done}/{len(ids)} done"
    return [after(server, Row("SIGKILL serve during 3 audio jobs, restart", "3/3 done, no duplicates", status,
                              time.perf_counter() - t0, note=f"duplicate finding rows: {dup_findings}",
                              expected_ok=done == len(ids) and dup_findings == 0))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 4-hour file and the kill test")
    args = parser.parse_args()
    rows = run(args.quick)
    print("| probe | expected | status | s | growth MB | worst /healthz s | healthy after | ok | note |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        growth = f"{r.growth_mb:.0f}" if r.growth_mb is not None else ""
        worst = f"{r.worst_healthz_s:.2f}" if r.worst_healthz_s is not None else ""
        print(f"| {r.probe} | {r.expected} | {r.status} | {r.seconds:.2f} | {growth} | {worst} | "
              f"{'yes' if r.healthy_after else 'NO'} | {'ok' if r.ok() else 'FAIL'} | {r.note.replace('|', '/')} |")
    bad = [r.probe for r in rows if not r.ok()]
    print(f"\n{len(rows) - len(bad)}/{len(rows)} probes ok (expected answer; no 5xx, dropped connection or stall)"
          + (f"; failing: {', '.join(bad)}" if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
