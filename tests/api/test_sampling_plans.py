"""Sampling plans (抽检): validation, scoping, the reproducible draw, per-agent minimum, filters, audit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from qa_engine.app.models import AuditEntry, SamplingDraw, SamplingPlan
from qa_engine.app.sampling import draw_value

from .zh_calls import BASE, COMPLAINT, NO_GREETING

Headers = dict[str, str]
API = "/api/v1"


@pytest.fixture()
def team(team: dict[str, Headers], make_user: Callable[..., Headers]) -> dict[str, Headers]:
    """The usual cast (tests/api/conftest.py) and carol (agent, t2)."""
    return {**team, "carol": make_user("carol", "agent", "t2")}


def _plan(client: TestClient, headers: Headers, **body: Any) -> Any:
    return client.post(f"{API}/sampling-plans", json={"team": "t1", **body}, headers=headers)


def _sampled(client: TestClient, headers: Headers) -> set[str]:
    items = client.get(f"{API}/review-queue", params={"reason": "sampled", "limit": 200}, headers=headers).json()
    return {i["id"] for i in items["items"]}


@pytest.mark.parametrize(("body", "field"), [
    ({"percent": 101}, "percent"), ({"percent": -1}, "percent"), ({"percent": "lots"}, "percent"),
    ({}, "percent"), ({"percent": 10, "per_agent_min": -1}, "per_agent_min"),
    ({"percent": 10, "per_agent_min": 1000}, "per_agent_min"), ({"percent": 0}, "percent"),
    ({"percent": 10, "include": {"colour": "red"}}, "colour"), ({"percent": 10, "include": {"max_score": 120}},
                                                                 "max_score"),
    ({"percent": 10, "include": {"grade": ""}}, "grade"), ({"percent": 10, "team": ""}, "team"),
    ({"percent": 10, "team": "x" * 129}, "team"), ({"percent": 10, "surprise": 1}, "surprise"),
])
def test_bad_plans_are_422_naming_the_field(client: TestClient, team: dict[str, Headers], body: dict[str, Any],
                                            field: str) -> None:
    response = _plan(client, team["sue"], **body)
    assert response.status_code == 422, response.text
    assert field in response.text


def test_plans_are_scoped_to_supervised_teams_and_agents_are_refused(client: TestClient,
                                                                      team: dict[str, Headers]) -> None:
    assert _plan(client, team["alice"], percent=10).status_code == 403
    assert _plan(client, team["tom"], percent=10).status_code == 404  # not tom's team
    created = _plan(client, team["sue"], percent=10, per_agent_min=1, include={"max_score": 90})
    assert created.status_code == 201, created.text
    plan = created.json()
    assert (plan["team"], plan["percent"], plan["per_agent_min"], plan["created_by"]) == ("t1", 10.0, 1, "sue")
    assert plan["include"] == {"category": None, "grade": None, "max_score": 90.0} and "seed" not in plan
    assert [p["id"] for p in client.get(f"{API}/sampling-plans", headers=team["sue"]).json()] == [plan["id"]]
    assert client.get(f"{API}/sampling-plans", headers=team["tom"]).json() == []
    assert client.get(f"{API}/sampling-plans", params={"team": "t1"}, headers=team["tom"]).status_code == 404
    assert [p["id"] for p in client.get(f"{API}/sampling-plans", headers=team["root"]).json()] == [plan["id"]]
    assert client.delete(f"{API}/sampling-plans/{plan['id']}", headers=team["tom"]).status_code == 404
    assert client.delete(f"{API}/sampling-plans/{plan['id']}", headers=team["alice"]).status_code == 403
    assert client.delete(f"{API}/sampling-plans/99999", headers=team["sue"]).status_code == 404
    assert client.delete(f"{API}/sampling-plans/{plan['id']}", headers=team["root"]).status_code == 204
    assert client.get(f"{API}/sampling-plans", headers=team["sue"]).json() == []

    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        audit = list(session.scalars(select(AuditEntry).where(AuditEntry.action.like("sampling_plan.%"))
                                     .order_by(AuditEntry.id)))
    assert [(e.action, e.actor) for e in audit] == [("sampling_plan.created", "sue"), ("sampling_plan.deleted", "root")]
    assert audit[0].after["percent"] == 10.0 and audit[1].before["id"] == plan["id"]
    assert "seed" not in audit[0].after


def test_the_draw_is_the_keyed_hash_and_every_draw_is_kept(client: TestClient, team: dict[str, Headers],
                                                           upload: Callable[..., str]) -> None:
    sue = team["sue"]
    plan = _plan(client, sue, percent=50).json()
    calls = [upload(sue, agent="alice" if i % 2 else "bob", **{**BASE, "call_id": f"c{i}"}) for i in range(8)]
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        seed = session.get(SamplingPlan, plan["id"]).seed
        draws = {d.call_pk: d for d in session.scalars(select(SamplingDraw))}
    expected = {c for c in calls if draw_value(seed, c) < 50}
    assert _sampled(client, sue) == expected == {c for c, d in draws.items() if d.selected}
    assert set(draws) == set(calls) and all(d.rule == ("percent" if d.selected else None) for d in draws.values())
    listed = client.get(f"{API}/sampling-plans", headers=sue).json()[0]
    assert (listed["drawn"], listed["selected"]) == (8, len(expected))
    for call in calls:  # each selection is in the call's audit trail, naming the plan and the draw
        audit = [e for e in client.get(f"{API}/calls/{call}/audit", headers=sue).json()
                 if e["action"] == "review_item.sampled"]
        assert [(e["actor"], e["after"]["value"]) for e in audit] == (
            [(f"sampling-plan:{plan['id']}", draws[call].value)] if call in expected else [])


def test_per_agent_min_tops_up_each_agent_per_day(client: TestClient, team: dict[str, Headers],
                                                  upload: Callable[..., str]) -> None:
    sue = team["sue"]
    client.post(f"{API}/sampling-plans", json={"team": "t1", "percent": 0, "per_agent_min": 1}, headers=sue)
    day1 = "2026-12-04T09:00:00+00:00"
    day2 = "2026-12-05T09:00:00+00:00"
    first_alice = upload(sue, agent="alice", **{**BASE, "call_id": "a1", "started_at": day1})
    upload(sue, agent="alice", **{**BASE, "call_id": "a2", "started_at": day1})
    first_bob = upload(sue, agent="bob", **{**BASE, "call_id": "b1", "started_at": day1})
    next_day = upload(sue, agent="alice", **{**BASE, "call_id": "a3", "started_at": day2})
    assert _sampled(client, sue) == {first_alice, first_bob, next_day}


def test_include_filter_and_backfill_window(client: TestClient, team: dict[str, Headers],
                                            upload: Callable[..., str]) -> None:
    sue = team["sue"]
    complaint = upload(sue, agent="alice", **COMPLAINT)  # 80.0, category 投诉
    upload(sue, agent="alice", **NO_GREETING)  # 82.4
    created = _plan(client, sue, percent=100, include={"max_score": 81})
    assert created.json()["backfilled"] == 1 and _sampled(client, sue) == {complaint}
    by_category = _plan(client, sue, percent=100, include={"category": "投诉"})
    assert by_category.json()["backfilled"] == 0  # the complaint is in the queue already
    other_team = upload(team["root"], agent="carol", team="t2", **BASE)
    assert other_team not in _sampled(client, team["root"])  # a t1 plan draws t1's calls only
