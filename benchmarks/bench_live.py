"""Live tap latency: N concurrent stereo calls streamed in real time to the AudioHook endpoint.

Serves the app with uvicorn on a free loopback port (in this process, fresh data folder, no job workers,
the default speech model), registers an AudioHook client, and uploads a benchmark pack: ``zh-CN`` with
``手机号`` added to the forbidden phrases, so the agent's read-back in ``tests/data/call_zh_stereo.flac``
(13-19 s) raises a live alert in every call. Then, for each N (default 1, 5, 10), N ``qa-engine tap``
clients stream that 30 s call at once, paced in real time (starts staggered over ``--stagger`` seconds),
and an admin reads the live feed (SSE). The server measures each latency from the moment the audio of an
utterance's end arrived to the transcript event (and to the alert it raised). The live transcriber is one
thread shared by every call; the feed also reports how far behind it fell.

Prints a table (calls, utterances, transcript p50/p95/max, alerts, alert p50/p95/max) and saves it
to ``benchmarks/results/live_<date>.md`` (``--out`` to change).

    .venv/bin/python benchmarks/bench_live.py [--calls 1,5,10] [--stagger 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.audiohook.clients import add_client  # noqa: E402
from api.main import create_app  # noqa: E402
from api.settings import Settings  # noqa: E402
from api.users import create_user  # noqa: E402
from qa_engine.live.client import AudiohookClient, TapOptions, load_call  # noqa: E402
from tests.live.conftest import serve  # noqa: E402

CALL = ROOT / "tests" / "data" / "call_zh_stereo.flac"


def bench_pack() -> str:
    doc = yaml.safe_load((ROOT / "rules" / "packs" / "zh-CN.yaml").read_text(encoding="utf-8"))
    doc["pack"], doc["version"] = "zh-live-bench", "1"
    for rule in doc["rules"]:
        if rule["id"] == "forbidden_phrases":
            rule["match"]["phrases"].append("手机号")
    return yaml.safe_dump(doc, allow_unicode=True)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class Feed(threading.Thread):
    def __init__(self, url: str, headers: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.url, self.headers = url, headers
        self.events: list[dict[str, Any]] = []
        self.stop = False

    def run(self) -> None:
        with httpx.stream("GET", self.url, headers=self.headers, timeout=None) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    self.events.append(json.loads(line[6:]))
                if self.stop:
                    return


async def stream_calls(url: str, key: str, secret: str, n: int, stagger: float, audio: Any) -> None:
    async def one(i: int) -> None:
        await asyncio.sleep(random.uniform(0, stagger) if n > 1 else 0)
        options = TapOptions(realtime=True, custom_config={"agent": f"agent{i}", "team": "bench",
                                                           "pack": "zh-live-bench"})
        result = await AudiohookClient(url, key, secret, options).run(audio)
        assert result.closed

    await asyncio.gather(*(one(i) for i in range(n)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", default="1,5,10")
    parser.add_argument("--stagger", type=float, default=3.0)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / f"live_{date.today()}.md"))
    args = parser.parse_args()
    random.seed(7)
    data = Path(tempfile.mkdtemp(prefix="bench-live-"))
    settings = Settings(data_dir=data, workers=0)
    app = create_app(settings)
    client = add_client(data, "bench", team="bench")
    with app.state.session_factory() as db:
        _user, admin_key = create_user(db, "admin", "admin")
    admin = {"Authorization": f"Bearer {admin_key}"}
    server = serve(app)
    port = next(server)
    http = f"http://127.0.0.1:{port}"
    ws_url = f"ws://127.0.0.1:{port}/api/v1/audiohook/ws"
    r = httpx.post(f"{http}/api/v1/packs", content=bench_pack().encode(), timeout=30,
                   headers={**admin, "Content-Type": "application/yaml"})
    r.raise_for_status()
    audio = load_call(str(CALL))
    print("warming up (model load, one call streamed fast) ...", file=sys.stderr)
    warm = AudiohookClient(ws_url, client.api_key, client.client_secret,
                           TapOptions(custom_config={"pack": "zh-live-bench"}))
    asyncio.run(warm.run(audio))
    rows = []
    transcriber = app.state.live_hub.transcriber
    for n in [int(x) for x in args.calls.split(",")]:
        feed = Feed(f"{http}/api/v1/live/events", admin)
        feed.start()
        time.sleep(0.5)
        busy0, t0 = transcriber.busy_s, time.monotonic()
        asyncio.run(stream_calls(ws_url, client.api_key, client.client_secret, n, args.stagger, audio))
        wall = time.monotonic() - t0
        time.sleep(1.0)  # the last events (call_ended) reach the feed
        feed.stop = True
        ended = [e for e in feed.events if e["type"] == "call_ended"]
        trans = [e["latency_s"] for e in feed.events if e["type"] == "transcript"]
        alerts = [e["latency_s"] for e in feed.events if e["type"] == "alert" and e["latency_s"] is not None]
        row = {"calls": n, "ended": len(ended), "utterances": len(trans), "t_p50": pct(trans, 0.5),
               "t_p95": pct(trans, 0.95), "t_max": max(trans, default=float("nan")), "alerts": len(alerts),
               "a_p50": pct(alerts, 0.5), "a_p95": pct(alerts, 0.95), "a_max": max(alerts, default=float("nan")),
               "asr_busy": (transcriber.busy_s - busy0) / wall}
        rows.append(row)
        print(f"N={n}: {row}", file=sys.stderr)
    next(server, None)
    header = ("| calls | utterances | transcript p50 s | p95 s | max s | alerts | alert p50 s | p95 s | max s "
              "| ASR busy |\n|---|---|---|---|---|---|---|---|---|---|")
    lines = [f"| {r['calls']} | {r['utterances']} | {r['t_p50']:.2f} | {r['t_p95']:.2f} | {r['t_max']:.2f} "
             f"| {r['alerts']} | {r['a_p50']:.2f} | {r['a_p95']:.2f} | {r['a_max']:.2f} | {r['asr_busy']:.0%} |"
             for r in rows]
    table = "\n".join([header, *lines])
    print(table)
    note = (f"# Live tap latency ({date.today()})\n\n{platform.node()}: {os.cpu_count()} CPU(s), "
            f"{platform.processor() or platform.machine()}, Whisper base (bundled), CPU int8; "
            f"call: tests/data/call_zh_stereo.flac (30 s, 8 kHz stereo) streamed in real time by each client, "
            f"starts staggered over {args.stagger:g} s. Latency: from the arrival of an utterance's last audio to "
            "its transcript event / the alert it raised (includes the VAD's 0.3 s end-of-speech wait and 0.4 s "
            "padding). 'ASR busy': share of the wall time the live transcriber thread was decoding.\n\n"
            f"Command: `.venv/bin/python benchmarks/bench_live.py --calls {args.calls}`\n\n{table}\n")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(note, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
