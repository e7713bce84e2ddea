"""How fast the web UI's call page renders a 10-minute call (issue 7, item 9: under 1 s locally).

Starts the real app as tests/ui does (uvicorn in a thread, SQLite in a temporary folder, no workers), creates a
supervisor, uploads one synthetic 10-minute Mandarin transcript (``--utterances`` turns, 300 by default, with
per-character word timings, some failed rules so there are findings with evidence and timeline markers), and
opens ``/ui/calls/{id}`` in headless Debian Chromium (``/usr/bin/chromium``, the tests' launch flags) through
Playwright.

The time is measured inside the page, from the navigation's start (``performance.timeOrigin``) to:

- ``dom``: the moment findings, every transcript line and the timeline's segments and markers are all in the DOM
  (a MutationObserver installed before the page's own scripts);
- ``painted``: the first frame after that (two ``requestAnimationFrame``s), i.e. what the user sees.

``cold`` loads use a fresh browser context each time (empty HTTP cache: HTML, CSS, JS and API all fetched);
``warm`` loads reload the page in one context (CSS/JS from cache). Median of ``--loads`` each (after one untimed
load per mode that warms the server). Prints a table against the 1 s target plus where the time goes (the
call's JSON size, server time of each request); ``--out FILE`` also saves it as Markdown.

    .venv/bin/python benchmarks/bench_ui.py [--utterances 300] [--loads 5] [--lang zh,en] [--out FILE]
                                            [--screenshots DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.main import create_app  # noqa: E402
from qa_engine.app.settings import Settings  # noqa: E402
from qa_engine.app.users import create_user  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TARGET_MS = 1000.0
PASSWORD = "bench-password"
VIEWPORT = {"width": 1440, "height": 900}

#: Recorded in the page before app.js runs: when findings, the transcript and the timeline are all there.
RENDER_PROBE = """
(() => {
  const expected = %d;
  const done = () => document.querySelectorAll('#findings .finding').length > 0
    && document.querySelectorAll('#transcript .utt').length === expected
    && document.querySelectorAll('#timeline .seg').length === expected
    && document.querySelectorAll('#timeline .marker').length > 0;
  const observer = new MutationObserver(() => {
    if (window.__qaDom === undefined && done()) {
      window.__qaDom = performance.now();
      observer.disconnect();
      requestAnimationFrame(() => requestAnimationFrame(() => { window.__qaPainted = performance.now(); }));
    }
  });
  document.addEventListener('DOMContentLoaded', () => {
    window.__qaDcl = performance.now();
    observer.observe(document.body, {childList: true, subtree: true});
  });
})();
"""

AGENT_LINES = [
    "您好，很高兴为您服务，请问有什么可以帮您？",
    "好的，您的手机号是13812345678对吗？",
    "请稍等，我帮您查询一下账户的情况。",
    "感谢您的耐心等待，您本月的话费是八十六元，其中流量费用三十元。",
    "这个我不清楚，你去问别人吧。",
    "您反映的是宽带经常断线的问题，对吗？",
    "给您添麻烦了，我马上帮您登记报修，维修人员会在二十四小时内联系您。",
    "您的套餐是五十八元档，包含三十G国内流量和五百分钟通话。",
    "请问还有其他可以帮您的吗？",
    "好的，我已经帮您备注了，您的工单号是二零二六一一二三零零一。",
]
CUSTOMER_LINES = [
    "我想查一下我的话费，号码是13812345678。",
    "对，就是这个号码。",
    "我家宽带这个月已经断了三次了，太差了。",
    "那大概什么时候能来修？",
    "我上个月的流量怎么多扣了二十块钱？",
    "好的，我知道了，那我等通知。",
    "能不能帮我换一个便宜一点的套餐？",
    "嗯，可以，你说吧。",
]


def synthetic_call(utterances: int, duration: float = 600.0) -> dict[str, Any]:
    """A 10-minute call: turns alternate agent/customer, each with per-character word timings."""
    step = duration / utterances
    turns = []
    for i in range(utterances):
        agent = i % 2 == 0
        lines = AGENT_LINES if agent else CUSTOMER_LINES
        text = lines[(i // 2) % len(lines)]
        if i == utterances - 2:
            text = "感谢您的来电，祝您生活愉快，再见。"
        start = round(i * step + 0.1, 2)
        end = round(start + step * 0.85, 2)
        chars = [c for c in text if not c.isspace()]
        width = (end - start) / len(chars)
        words = [{"start": round(start + k * width, 3), "end": round(start + (k + 1) * width, 3), "word": c,
                  "probability": 0.9} for k, c in enumerate(chars)]
        turns.append({"role": "agent" if agent else "customer", "start": start, "end": end, "text": text,
                      "channel": 0 if agent else 1, "words": words})
    return {"call_id": f"bench-ui-{utterances}", "language": "zh", "duration": duration, "agent": "ann",
            "started_at": datetime.now(UTC).replace(microsecond=0).isoformat(), "utterances": turns}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_server(data_dir: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """The app on a loopback port with a supervisor (``sue``) and an agent (``ann``); yields (url, api keys)."""
    app = create_app(Settings(data_dir=data_dir, workers=0))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    keys = {}
    with app.state.session_factory() as session:
        for name, role in [("sue", "supervisor"), ("ann", "agent")]:
            _user, keys[name] = create_user(session, name, role, "t1", (), password=PASSWORD)
    try:
        yield f"http://127.0.0.1:{port}", keys
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _load(page: Any, url: str) -> dict[str, float]:
    page.goto(url)
    page.wait_for_function("() => window.__qaPainted !== undefined", timeout=30_000)
    marks: dict[str, float] = page.evaluate("({dcl: window.__qaDcl, dom: window.__qaDom, painted: window.__qaPainted})")
    return marks


def _signed_in(browser: Any, url: str, lang: str, utterances: int) -> Any:
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(RENDER_PROBE % utterances)
    form = context.request.get(f"{url}/ui/login?lang={lang}").text()  # sets the sign-in form's CSRF cookie
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    response = context.request.post(f"{url}/ui/login?lang={lang}", max_redirects=0,
                                    form={"name": "sue", "password": PASSWORD, "csrf_token": token[1] if token else ""})
    if response.status != 303:
        raise RuntimeError(f"sign-in failed: {response.status}")
    return context


def _requests(page: Any) -> list[tuple[str, float, float, bool]]:
    """(path, ms, body bytes, from the cache) of the page's requests, from Resource Timing."""
    entries = page.evaluate("""performance.getEntriesByType('navigation')
        .concat(performance.getEntriesByType('resource'))
        .map(e => [new URL(e.name).pathname, e.responseEnd - e.startTime, e.encodedBodySize, e.transferSize === 0])""")
    return [(path, total, size, cached) for path, total, size, cached in entries]


Requests = list[tuple[str, float, float, bool]]
Runs = dict[str, list[dict[str, float]]]


def measure(url: str, call: str, lang: str, loads: int, utterances: int,
            shots: Path | None) -> tuple[Runs, Requests]:
    from playwright.sync_api import sync_playwright

    page_url = f"{url}/ui/calls/{call}?lang={lang}"
    results: Runs = {"cold": [], "warm": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            for i in range(loads + 1):  # cold: a new context (empty cache) per load; the first is untimed
                context = _signed_in(browser, url, lang, utterances)
                marks = _load(context.new_page(), page_url)
                context.close()
                if i:
                    results["cold"].append(marks)
            context = _signed_in(browser, url, lang, utterances)
            page = context.new_page()
            for i in range(loads + 1):  # warm: the same context, CSS/JS cached
                marks = _load(page, page_url)
                if i:
                    results["warm"].append(marks)
            requests = _requests(page)
            if shots is not None:  # what was measured, as the user sees it (the viewport, not the whole page)
                shots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shots / f"call-10min-{lang}.png"))
            context.close()
        finally:
            browser.close()
    return results, requests


def table(runs_by_lang: dict[str, tuple[Runs, Requests]], call_bytes: int,
          utterances: int) -> str:
    lines = [f"Call page /ui/calls/{{id}}, {utterances} utterances over 10:00 with word timings "
             f"(GET /api/v1/calls/{{id}}: {call_bytes / 1024:.0f} KiB), headless Chromium "
             f"{_chromium_version()}, server and browser on the same {os.cpu_count()} CPUs ({platform.machine()}); "
             "medians in ms from navigation start",
             f"{'lang':<4} {'mode':<6} {'loads':>5} {'DOMContentLoaded':>16} {'rendered (DOM)':>14} {'painted':>8} "
             f"{'max painted':>12} {'target':>7} {'verdict':>8}"]
    for lang, (results, _requests) in runs_by_lang.items():
        for mode, runs in results.items():
            lines.append(_row(lang, mode, runs))
    lang, (_results, requests) = next(reversed(runs_by_lang.items()))
    lines.append("")
    lines.append(f"requests of the last warm load ({lang}; ms from request start to response end, body bytes):")
    for path, total, size, cached in requests:
        lines.append(f"  {path:<56} {total:>7.1f} ms {size:>9.0f} B{'  (cache)' if cached else ''}")
    return "\n".join(lines)


def _row(lang: str, mode: str, runs: list[dict[str, float]]) -> str:
    dcl = statistics.median(r["dcl"] for r in runs)
    dom = statistics.median(r["dom"] for r in runs)
    painted = statistics.median(r["painted"] for r in runs)
    worst = max(r["painted"] for r in runs)
    verdict = "ok" if painted < TARGET_MS else "SLOW"
    return (f"{lang:<4} {mode:<6} {len(runs):>5} {dcl:>16.0f} {dom:>14.0f} {painted:>8.0f} {worst:>12.0f} "
            f"{TARGET_MS:>7.0f} {verdict:>8}")


def _chromium_version() -> str:
    try:
        import subprocess

        out = subprocess.run([str(CHROMIUM), "--version"], capture_output=True, text=True, timeout=20).stdout
        return out.split()[1] if out else "?"
    except (OSError, IndexError, subprocess.SubprocessError):
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--utterances", type=int, default=300)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--lang", default="zh,en", help="comma-separated UI languages to measure (zh, en)")
    parser.add_argument("--out", type=Path, help="also save the table as Markdown here")
    parser.add_argument("--screenshots", type=Path, help="save the rendered page as call-10min-LANG.png here")
    args = parser.parse_args(argv)
    langs = [lang.strip() for lang in args.lang.split(",") if lang.strip()]
    if not langs or set(langs) - {"zh", "en"}:
        parser.error(f"--lang: zh, en or both (zh,en), got {args.lang!r}")
    if not CHROMIUM.exists():
        parser.error(f"{CHROMIUM} is missing: bash scripts/setup.sh installs Debian's chromium")
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp, running_server(Path(tmp) / "data") as (url, keys):
        doc = synthetic_call(args.utterances)
        with httpx.Client(base_url=url, timeout=60) as http:
            response = http.post("/api/v1/calls", json=doc, headers={"Authorization": f"Bearer {keys['sue']}"})
            if response.status_code != 201:
                raise RuntimeError(f"upload failed: {response.status_code} {response.text[:300]}")
            call = response.json()["id"]
            body = http.get(f"/api/v1/calls/{call}", headers={"Authorization": f"Bearer {keys['sue']}"})
            failed = sum(f["status"] == "fail" for f in body.json()["report"]["findings"])
            if not failed:
                raise RuntimeError("the synthetic call has no failed finding: the page would show no markers")
        runs_by_lang = {lang: measure(url, call, lang, args.loads, args.utterances, args.screenshots) for lang in langs}
    text = table(runs_by_lang, len(body.content), args.utterances)
    print(text)
    if args.out:
        load = os.getloadavg()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(f"# Web UI call page render time — {date.today().isoformat()}\n\n"
                            f"`.venv/bin/python benchmarks/bench_ui.py --utterances {args.utterances} --loads "
                            f"{args.loads} --lang {','.join(langs)}` (target: painted < {TARGET_MS:.0f} ms; "
                            f"load average at the end {load[0]:.1f} on {os.cpu_count()} CPUs).\n\n```\n{text}\n```\n",
                            encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
