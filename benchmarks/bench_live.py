"""Live tap latency: N concurrent stereo calls streamed in real time to the AudioHook endpoint.

Serves the app with uvicorn on a free loopback port (in this process, fresh data folder, no job workers,
the default speech model), registers an AudioHook client, and uploads a benchmark pack: ``zh-CN`` with
``手机号`` added to the forbidden phrases, so the agent's read-back in ``tests/data/call_zh_stereo.flac``
(13-19 s) raises a live alert in every call. Then, for each mode and N (default 1, 5, 10), N ``qa-engine tap``
clients (in a separate process) stream at once, paced in real time, while an admin reads the live feed (SSE):

* ``lockstep``: every client streams that 30 s call, starts staggered over ``--stagger`` seconds; the same
  utterances end within those seconds in every call: the worst case for a shared transcriber.
* ``spread``: all clients connect at once and stream ``--seconds`` (60) of the call looped, client i starting
  i/N of the way into it: N concurrent calls whose turns fall at independent moments, as in a contact centre.
 The server measures each latency from the moment the audio of an
utterance's end arrived to the transcript event (and to the alert it raised). The live transcriber is one
thread shared by every call; the feed also reports how far behind it fell.

Prints a table (calls, utterances, transcript p50/p95/max, alerts, alert p50/p95/max) and saves it
to ``benchmarks/results/live_<date>.md`` (``--out`` to change).

    .venv/bin/python benchmarks/bench_live.py [--calls 1,5,10] [--modes lockstep,spread] [--stagger 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import random
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.main import create_app  # noqa: E402
from qa_engine.app.audiohook_clients import add_client  # noqa: E402
from qa_engine.app.settings import Settings  # noqa: E402
from qa_engine.app.users import create_user  # noqa: E402
from qa_engine.commands.audiohook_client import RATE, AudiohookClient, TapOptions, load_call  # noqa: E402
from tests.live.conftest import serve  # noqa: E402

CALL = ROOT / "tests" / "data" / "call_zh_stereo.flac"


def bench_pack(language: str) -> tuple[str, str]:
    """(name, YAML): zh-CN with 手机号 forbidden (an alert in every call of the test recording), or the en pack."""
    zh = language.startswith("zh")
    doc = yaml.safe_load((ROOT / "rules" / "packs" / ("zh-CN.yaml" if zh else "en.yaml")).read_text(encoding="utf-8"))
    doc["pack"], doc["version"] = ("zh-live-bench" if zh else "en-live-bench"), "1"
    for rule in doc["rules"]:
        if rule["id"] == "forbidden_phrases" and zh:
            rule["match"]["phrases"].append("手机号")
    return doc["pack"], yaml.safe_dump(doc, allow_unicode=True)


def display(path: str) -> str:
    """A path relative to the repository (or the evaluation folder beside it) when it is inside one."""
    resolved = Path(path).resolve()
    for base in (ROOT, ROOT.parent):
        if resolved.is_relative_to(base):
            return str(resolved.relative_to(base))
    return resolved.name


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


def phased(audio: np.ndarray, phase_s: float, seconds: float) -> np.ndarray:
    """The recording looped, starting ``phase_s`` into it, ``seconds`` long: a call tapped at another moment."""
    n = int(seconds * RATE)
    start = int(phase_s * RATE) % audio.shape[1]
    reps = -(-(start + n) // audio.shape[1])
    return np.tile(audio, (1, reps))[:, start: start + n]


async def stream_calls(url: str, key: str, secret: str, n: int, mode: str, stagger: float, seconds: float,
                       audio: np.ndarray, tap: TapOptions) -> None:
    """N clients at once. ``lockstep``: the same call, starts within ``stagger`` s (their utterances end together).
    ``spread``: all connect at once, client i streams ``seconds`` of the looped call from i/N of its length."""
    length = audio.shape[1] / RATE

    async def one(i: int) -> None:
        if mode == "lockstep":
            await asyncio.sleep(random.uniform(0, stagger) if n > 1 else 0)
            call = audio
        else:
            call = phased(audio, i * length / n, seconds)
        options = replace(tap, realtime=True, custom_config={**tap.custom_config, "agent": f"agent{i}",
                                                             "team": "bench"})
        result = await AudiohookClient(url, key, secret, options).run(call)
        assert result.closed

    await asyncio.gather(*(one(i) for i in range(n)))


def run_clients(*args: Any) -> None:
    """The clients run in their own process so that their work does not hold the server's interpreter lock."""
    asyncio.run(stream_calls(*args))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", default="1,5,10")
    parser.add_argument("--call", default=str(CALL), help="a stereo recording (default: the Mandarin test call)")
    parser.add_argument("--agent-channel", type=int, default=0)
    parser.add_argument("--language", default="zh-CN", help="zh-CN (zh pack + 手机号 forbidden) or en-US (en pack)")
    parser.add_argument("--modes", default="lockstep,spread", help="lockstep and/or spread (see stream_calls)")
    parser.add_argument("--stagger", type=float, default=3.0, help="lockstep: starts spread over this many s")
    parser.add_argument("--seconds", type=float, default=60.0, help="spread: how long each call streams")
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
    pack_name, pack_yaml = bench_pack(args.language)
    tap = TapOptions(agent_channel=args.agent_channel, language=args.language, custom_config={"pack": pack_name})
    r = httpx.post(f"{http}/api/v1/packs", content=pack_yaml.encode(), timeout=30,
                   headers={**admin, "Content-Type": "application/yaml"})
    r.raise_for_status()
    audio = load_call(args.call)
    print("warming up (model load, one call streamed fast) ...", file=sys.stderr)
    warm = AudiohookClient(ws_url, client.api_key, client.client_secret,
                           tap)
    asyncio.run(warm.run(audio))
    rows = []
    transcriber = app.state.live_hub.transcriber
    runs = [(mode, int(x)) for mode in args.modes.split(",") for x in args.calls.split(",")]
    for mode, n in runs:
        feed = Feed(f"{http}/api/v1/live/events", admin)
        feed.start()
        time.sleep(0.5)
        busy0, t0 = transcriber.busy_s, time.monotonic()
        clients = multiprocessing.get_context("spawn").Process(
            target=run_clients, args=(ws_url, client.api_key, client.client_secret, n, mode, args.stagger,
                                      args.seconds, audio, tap))
        clients.start()
        clients.join()
        if clients.exitcode != 0:
            print(f"the {mode} clients failed (exit code {clients.exitcode})", file=sys.stderr)
            return 1
        wall = time.monotonic() - t0
        time.sleep(1.0)  # the last events (call_ended) reach the feed
        feed.stop = True
        ended = [e for e in feed.events if e["type"] == "call_ended"]
        trans = [e["latency_s"] for e in feed.events if e["type"] == "transcript"]
        alerts = [e["latency_s"] for e in feed.events if e["type"] == "alert" and e["latency_s"] is not None]
        row = {"mode": mode, "calls": n, "ended": len(ended), "utterances": len(trans), "t_p50": pct(trans, 0.5),
               "t_p95": pct(trans, 0.95), "t_max": max(trans, default=float("nan")), "alerts": len(alerts),
               "a_p50": pct(alerts, 0.5), "a_p95": pct(alerts, 0.95), "a_max": max(alerts, default=float("nan")),
               "asr_busy": (transcriber.busy_s - busy0) / wall}
        rows.append(row)
        print(f"N={n}: {row}", file=sys.stderr)
    next(server, None)
    header = ("| mode | calls | utterances | transcript p50 s | p95 s | max s | alerts | alert p50 s | p95 s | max s "
              "| ASR busy |\n|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [f"| {r['mode']} | {r['calls']} | {r['utterances']} | {r['t_p50']:.2f} | {r['t_p95']:.2f} "
             f"| {r['t_max']:.2f} "
             f"| {r['alerts']} | {r['a_p50']:.2f} | {r['a_p95']:.2f} | {r['a_max']:.2f} | {r['asr_busy']:.0%} |"
             for r in rows]
    table = "\n".join([header, *lines])
    print(table)
    note = (f"# Live tap latency ({date.today()})\n\n{platform.node()}: {os.cpu_count()} CPU(s), "
            f"{platform.processor() or platform.machine()}, Whisper base (bundled), CPU int8; "
            f"call: {display(args.call)} ({audio.shape[1] / RATE:.0f} s, 8 kHz stereo, {args.language}) streamed in "
            "real time by each client; "
            f"lockstep: that call, starts staggered over {args.stagger:g} s; spread: {args.seconds:g} s of the "
            "call looped, client i starting i/N of the way into it, all connected at once. Latency: from the "
            "arrival of an utterance's last audio to its transcript event / the alert it raised (includes the "
            "VAD's 0.3 s end-of-speech wait and 0.4 s "
            "padding). 'ASR busy': share of the wall time the live transcriber thread was decoding.\n\n"
            f"Command: `.venv/bin/python benchmarks/bench_live.py {' '.join(sys.argv[1:])}`"
            f"\n\n{table}\n")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(note, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
