"""``GET /api/v1/analytics/sentiment`` on SQLite and PostgreSQL: customer end sentiment by team and agent, scoped
like calls; the column ``store_report`` fills; the migration's backfill from stored reports."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from qa_engine.app.database import make_engine, make_session_factory
from qa_engine.app.migrate import upgrade
from qa_engine.app.models import Call

from .conftest import ZH_TRANSCRIPT, legacy_calls_table


def _ending(text: str) -> dict[str, Any]:
    """The good zh call with the customer's last words replaced by ``text``."""
    doc = copy.deepcopy(ZH_TRANSCRIPT)
    doc["utterances"].append({"role": "customer", "start": 900.0, "end": 903.0, "text": text})
    return doc


@pytest.fixture()
def team(team: dict[str, dict[str, str]], make_user: Callable[..., dict[str, str]]) -> dict[str, dict[str, str]]:
    """The usual cast (tests/api/conftest.py) and carol (agent, t2)."""
    return {**team, "carol": make_user("carol", "agent", "t2")}


def _post(client: TestClient, headers: dict[str, str], agent: str, doc: dict[str, Any], **extra: Any) -> str:
    response = client.post("/api/v1/calls", json={**doc, "agent": agent, **extra}, headers=headers)
    assert response.status_code == 201, response.text
    call_id: str = response.json()["id"]
    return call_id


def _stats(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/analytics/sentiment", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_by_team_and_agent_scoped_like_calls(client: TestClient, team: dict[str, dict[str, str]]) -> None:
    root = team["root"]
    angry = _ending("你们太差了，真是浪费时间，我要投诉！")
    happy = _ending("好的，解决了，太感谢了！")
    _post(client, root, "alice", angry, team="t1")
    _post(client, root, "alice", happy, team="t1")
    _post(client, root, "bob", happy, team="t1")
    carol_call = _post(client, root, "carol", angry, team="t2")

    report = client.get(f"/api/v1/calls/{carol_call}", headers=root).json()
    utterances = report.get("report", report).get("utterances", [])
    assert utterances and all(-1 <= u["sentiment"] <= 1 for u in utterances)

    everything = _stats(client, root)
    assert everything["overall"]["calls"] == 4 and everything["negative_below"] == -0.3
    teams = {g["name"]: g for g in everything["teams"]}
    assert teams["t2"]["negative_share"] == 1.0 and teams["t1"]["calls"] == 3
    assert 0.3 < teams["t1"]["negative_share"] < 0.4
    agents = {g["name"]: g for g in everything["agents"]}
    assert agents["bob"]["mean_end"] > 0 > agents["carol"]["mean_end"]
    assert agents["alice"]["team"] == "t1"

    sue = _stats(client, team["sue"])  # the supervisor sees t1 only
    assert {g["name"] for g in sue["teams"]} == {"t1"} and sue["overall"]["calls"] == 3
    alice = _stats(client, team["alice"])  # an agent sees their own calls
    assert {g["name"] for g in alice["agents"]} == {"alice"} and alice["overall"]["calls"] == 2
    assert _stats(client, root, team="t2")["overall"]["calls"] == 1
    assert _stats(client, root, **{"from": "2999-01-01"})["overall"]["calls"] == 0


@pytest.mark.parametrize("params", [{"from": "yesterday"}, {"to": "2026-13-01"},
                                    {"from": "2026-02-01", "to": "2026-01-01"}, {"team": "x" * 200}])
def test_bad_filters_are_422(client: TestClient, team: dict[str, dict[str, str]], params: dict[str, str]) -> None:
    response = client.get("/api/v1/analytics/sentiment", params=params, headers=team["root"])
    assert response.status_code == 422, response.text


def test_needs_a_signed_in_user(client: TestClient) -> None:
    assert client.get("/api/v1/analytics/sentiment").status_code == 401


def test_migration_fills_calls_scored_before_it(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine, "0009")
        calls = legacy_calls_table()
        old_report = {"language": "zh", "utterances": [  # a report stored before sentiment existed
            {"role": "agent", "start": 0, "end": 1, "text": "您好"},
            {"role": "customer", "start": 1, "end": 2, "text": "你们太差了，我要投诉"}]}
        with engine.begin() as conn:
            conn.execute(calls.insert().values(id="a" * 32, call_id="old", agent="alice", team="t1", status="done",
                                               source="transcript", created_at=func.now(), report=old_report))
            conn.execute(calls.insert().values(id="b" * 32, call_id="queued", agent="alice", team="t1",
                                               status="queued", source="transcript", created_at=func.now()))
        upgrade(engine)
        with make_session_factory(engine)() as session:
            values = dict(session.execute(select(Call.id, Call.customer_end_sentiment)).all())
        assert values["b" * 32] is None
        assert values["a" * 32] is not None and values["a" * 32] < -0.3
    finally:
        engine.dispose()
