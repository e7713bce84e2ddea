"""Search latency over 100,000 utterances: ``GET /api/v1/search`` on SQLite (FTS5 trigram) and PostgreSQL (pg_trgm).

Builds a fresh database migrated to head, seeds ``--calls`` calls of ``--utterances`` utterances each (default
10,000 x 10 = 100,000) spread over 60 agents in 6 teams and 90 days, then times the endpoint in-process
(``TestClient``: routing, API-key check, the use case and JSON included; no network) for short queries (two
characters: no trigram to look up, a ``LIKE`` scan), long Chinese and English queries, two-letter English words
(matched at word starts: ``on`` is not found inside ``moment``), a query with no hit, the role filter and each
role's scope (admin: everything; supervisor: one team; agent: own calls). Each query runs once
untimed, then ``--repeat`` times; prints p50/p95/max in ms and the number of hits.

The utterance texts are generated from customer-service sentences (with masked numbers as the service stores them)
and inserted the way ``qa_engine.app.search_index.index_call`` writes them (the scoring pipeline is not run: 100,000
utterances through the rules would time the rules, not the search).

    .venv/bin/python benchmarks/bench_search.py [--backend sqlite|postgresql|both] [--pg-url URL]
                                                [--calls 10000] [--utterances 10] [--repeat 30] [--out FILE]

PostgreSQL needs ``--pg-url`` or ``QA_ENGINE_TEST_PG_URL``: a server URL whose user may create databases (a
temporary database is created and dropped).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.main import create_app  # noqa: E402
from qa_engine.app.database import make_engine  # noqa: E402
from qa_engine.app.models import Call, SearchUtterance  # noqa: E402
from qa_engine.app.search_text import match_form  # noqa: E402
from qa_engine.app.settings import Settings  # noqa: E402
from qa_engine.app.users import create_user  # noqa: E402

AGENT_LINES = [
    "您好，很高兴为您服务，请问有什么可以帮您？", "好的，请您稍等，我帮您查询一下。",
    "感谢您的耐心等待，已经为您查到了。", "您的号码是***-****-****对吗？", "非常抱歉给您带来不便，我们马上为您处理。",
    "您本月话费是八十元，其中流量费三十元。", "宽带维修师傅会在二十四小时内联系您。", "还有什么可以帮您的吗？",
    "感谢您的来电，祝您生活愉快，再见。", "这个套餐每月包含三十G流量和五百分钟通话。",
    "我已经为您提交了工单，编号是********。",
    "Thank you for calling, how can I help you today?", "Please hold on a moment while I check your account.",
    "I am sorry for the inconvenience, I will refund the fee.", "Is there anything else I can help you with?",
]
CUSTOMER_LINES = [
    "我想查一下我的话费。", "我家宽带又断了，已经三天了。", "我要投诉，你们的服务太差了。",
    "能帮我换一个便宜点的套餐吗？", "我的号码是***********。", "好的，谢谢。", "没有了，谢谢你。",
    "为什么这个月多扣了二十块钱？", "流量用完了怎么办？",
    "My bill is wrong this month.", "I want to cancel my subscription.", "The internet has been down since Monday.",
]
#: (label, query, role filter, user)
QUERIES: list[tuple[str, str, str | None, str]] = [
    ("2 chars, common", "稍等", None, "root"),
    ("2 chars, role=agent", "稍等", "agent", "root"),
    ("2 chars, supervisor", "投诉", None, "sup0"),
    ("2 chars, agent", "稍等", "agent", "agent0"),
    ("1 char", "谢", None, "root"),
    ("long zh, common", "感谢您的耐心等待", None, "root"),
    ("long zh, supervisor", "感谢您的耐心等待", "agent", "sup0"),
    ("3 chars zh", "多扣了", "customer", "root"),
    ("en phrase", "hold on a moment", None, "root"),
    ("en word, agent", "refund", None, "agent0"),
    ("en 2 letters", "my", None, "root"),
    ("en 2 letters, inside words", "on", None, "root"),
    ("no hit (long)", "火星探测器", None, "root"),
    ("no hit (short)", "火星", None, "root"),
    ("2 chars + dates", "宽带", None, "sup0"),
]
TEAMS, AGENTS_PER_TEAM = 6, 10


def seed(engine: Engine, calls: int, per_call: int) -> None:
    """Calls and their indexed utterances, inserted in batches (the FTS5 triggers / GIN index do the indexing)."""
    rng = random.Random(7)
    now = datetime(2026, 12, 5, tzinfo=UTC)
    call_rows: list[dict[str, Any]] = []
    utt_rows: list[dict[str, Any]] = []

    def flush() -> None:
        with engine.begin() as conn:
            conn.execute(insert(Call), call_rows)
            conn.execute(insert(SearchUtterance), utt_rows)
        call_rows.clear()
        utt_rows.clear()

    for n in range(calls):
        team = n % TEAMS
        pk = uuid.uuid4().hex
        started = now - timedelta(days=rng.uniform(0, 90))
        call_rows.append({"id": pk, "call_id": f"bench-{n}", "agent": f"agent{team * AGENTS_PER_TEAM + n % 10}",
                          "team": f"t{team}", "status": "done", "source": "transcript", "created_at": started,
                          "started_at": started, "language": "zh", "score": 90.0, "grade": "优秀"})
        t = 0.0
        for i in range(per_call):
            role = "agent" if i % 2 == 0 else "customer"
            line = rng.choice(AGENT_LINES if role == "agent" else CUSTOMER_LINES)
            length = len(line) * 0.2
            utt_rows.append({"call_pk": pk, "role": role, "start": round(t, 2), "end": round(t + length, 2),
                             "text": line, "match_text": match_form(line)})
            t += length + rng.uniform(0.3, 1.5)
        if len(call_rows) >= 1000:
            flush()
    if call_rows:
        flush()


def add_users(app: Any) -> dict[str, str]:
    keys: dict[str, str] = {}
    with app.state.session_factory() as session:
        for name, role, team in [("root", "admin", None), ("sup0", "supervisor", "t0"), ("agent0", "agent", "t0")]:
            _user, key = create_user(session, name, role, team)
            keys[name] = key
    return keys


def time_queries(client: TestClient, keys: dict[str, str], repeat: int) -> list[dict[str, Any]]:
    rows = []
    for label, query, role, user in QUERIES:
        params: dict[str, Any] = {"q": query, "limit": 20}
        if role:
            params["role"] = role
        if label.endswith("dates"):
            params.update({"from": "2026-10-01", "to": "2026-11-30"})
        headers = {"Authorization": f"Bearer {keys[user]}"}
        first = client.get("/api/v1/search", params=params, headers=headers)
        assert first.status_code == 200, first.text
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            response = client.get("/api/v1/search", params=params, headers=headers)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
        times.sort()
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        rows.append({"label": label, "query": query, "role": role or "", "user": user, "hits": first.json()["total"],
                     "p50": statistics.median(times), "p95": p95, "max": times[-1]})
    return rows


@contextmanager
def database(backend: str, pg_url: str | None, folder: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'data' / 'qa-engine.db'}"
        return
    if not pg_url:
        raise SystemExit("PostgreSQL: give --pg-url or set QA_ENGINE_TEST_PG_URL")
    admin = make_engine(pg_url)
    name = f"qa_bench_search_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(backend: str, pg_url: str | None, calls: int, per_call: int, repeat: int) -> tuple[list[dict[str, Any]], float]:
    with tempfile.TemporaryDirectory() as tmp, database(backend, pg_url, Path(tmp)) as url:
        settings = Settings(data_dir=Path(tmp) / "data", db_url=url, workers=0)
        app = create_app(settings)  # migrates
        start = time.perf_counter()
        seed(app.state.db_engine, calls, per_call)
        if backend == "postgresql":
            with app.state.db_engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        seeded = time.perf_counter() - start
        keys = add_users(app)
        with TestClient(app) as client:
            return time_queries(client, keys, repeat), seeded


def table(backend: str, rows: list[dict[str, Any]], total: int, seeded: float) -> str:
    lines = [f"### {backend}: {total:,} utterances (seeded and indexed in {seeded:.1f} s)", "",
             "| case | q | role | user | hits | p50 ms | p95 ms | max ms |", "|---|---|---|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['label']} | {r['query']} | {r['role']} | {r['user']} | {r['hits']} | {r['p50']:.1f} | "
                     f"{r['p95']:.1f} | {r['max']:.1f} |")
    worst = max(r["p95"] for r in rows)
    lines += ["", f"worst p95: {worst:.1f} ms ({'meets' if worst < 200 else 'MISSES'} the 200 ms target)", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("QA_ENGINE_TEST_PG_URL"))
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--utterances", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    out = [f"Search benchmark: {platform.machine()}, {os.cpu_count()} CPUs (load average {load} at start), Python "
           f"{platform.python_version()}, {args.repeat} timed runs per query (after one untimed), limit=20", ""]
    for backend in backends:
        rows, seeded = run(backend, args.pg_url, args.calls, args.utterances, args.repeat)
        out.append(table(backend, rows, args.calls * args.utterances, seeded))
        sys.stdout.write(out[-1] + "\n")
        sys.stdout.flush()
    if args.out:
        args.out.write_text("\n".join(out), encoding="utf-8")


if __name__ == "__main__":
    main()
