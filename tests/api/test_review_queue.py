"""The review queue (supervisor inbox): what puts a call there, scoping, assignment, state moves and their audit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .zh_calls import BASE, FORBIDDEN, NO_GREETING

Headers = dict[str, str]
API = "/api/v1"


@pytest.fixture()
def team(team: dict[str, Headers], make_user: Callable[..., Headers]) -> dict[str, Headers]:
    """The usual cast (tests/api/conftest.py) and sam (supervisor, t1)."""
    return {**team, "sam": make_user("sam", "supervisor", "t1")}


def _queue(client: TestClient, headers: Headers, **params: Any) -> dict[str, Any]:
    response = client.get(f"{API}/review-queue", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _reasons(client: TestClient, headers: Headers, **params: Any) -> dict[str, list[str]]:
    return {item["id"]: item["reasons"] for item in _queue(client, headers, **params)["items"]}


def _dispute(client: TestClient, headers: Headers, call: str, rule: str = "speech_rate") -> dict[str, Any]:
    response = client.post(f"{API}/calls/{call}/findings/{rule}/dispute", json={"comment": "I did"}, headers=headers)
    assert response.status_code == 201, response.text
    review: dict[str, Any] = response.json()["review"]
    return review


def _state(client: TestClient, headers: Headers, call: str, state: str) -> Any:
    return client.post(f"{API}/review-queue/{call}/state", json={"state": state}, headers=headers)


def _assign(client: TestClient, headers: Headers, call: str, reviewer: str | None) -> Any:
    return client.post(f"{API}/review-queue/{call}/assign", json={"reviewer": reviewer}, headers=headers)


def test_acceptance_dispute_and_full_sampling_plan_fill_the_team_queue(client: TestClient, team: dict[str, Headers],
                                                                      upload: Callable[..., str]) -> None:
    sue = team["sue"]
    disputed = upload(sue, agent="alice", **BASE)  # 94.1: nothing but the dispute brings it to the queue
    other = upload(sue, agent="bob", **NO_GREETING)  # 82.4
    assert _queue(client, sue, team="t1")["items"] == []
    _dispute(client, team["alice"], disputed)
    assert _reasons(client, sue, team="t1") == {disputed: ["dispute"]}

    created = client.post(f"{API}/sampling-plans", json={"team": "t1", "percent": 100}, headers=sue)
    assert created.status_code == 201, created.text
    assert created.json()["backfilled"] == 1  # the disputed call is in the queue already: not drawn

    queue = _queue(client, sue, team="t1")
    assert {i["id"]: i["reasons"] for i in queue["items"]} == {disputed: ["dispute"], other: ["sampled"]}
    assert queue["total"] == 2
    item = next(i for i in queue["items"] if i["id"] == disputed)
    assert (item["agent"], item["team"], item["state"], item["assigned_to"]) == ("alice", "t1", "open", None)
    assert item["open_disputes"] == 1 and item["call_id"] == "zh-base" and item["score"] == 94.1
    # a call scored later is drawn when it is stored
    later = upload(sue, agent="alice", **NO_GREETING)
    assert _reasons(client, sue, team="t1")[later] == ["sampled"]
    assert _reasons(client, sue, reason="dispute") == {disputed: ["dispute"]}


def test_critical_failures_and_low_scores_enter_the_queue_once(client: TestClient, team: dict[str, Headers],
                                                               upload: Callable[..., str]) -> None:
    sue = team["sue"]
    bad = upload(sue, agent="alice", **FORBIDDEN)  # 59.0 with a failed critical rule
    upload(sue, agent="alice", **BASE)
    assert _reasons(client, sue) == {bad: ["critical_fail", "low_score"]}
    _dispute(client, team["alice"], bad, "forbidden_phrases")
    assert _reasons(client, sue) == {bad: ["dispute", "critical_fail", "low_score"]}  # one item per call
    assert _reasons(client, sue, reason="low_score") == {bad: ["dispute", "critical_fail", "low_score"]}
    assert _reasons(client, sue, reason="sampled") == {}


def test_scoping_agents_403_other_teams_invisible(client: TestClient, team: dict[str, Headers],
                                                  upload: Callable[..., str]) -> None:
    bad = upload(team["sue"], agent="alice", **FORBIDDEN)
    for agent in ("alice", "bob"):
        assert client.get(f"{API}/review-queue", headers=team[agent]).status_code == 403
        assert client.get(f"{API}/review-queue/{bad}", headers=team[agent]).status_code == 403
        assert _state(client, team[agent], bad, "in_review").status_code == 403
        assert client.get(f"{API}/sampling-plans", headers=team[agent]).status_code == 403
    tom = team["tom"]
    assert _queue(client, tom)["items"] == []
    assert client.get(f"{API}/review-queue", params={"team": "t1"}, headers=tom).status_code == 404
    assert client.get(f"{API}/review-queue/{bad}", headers=tom).status_code == 404
    assert _state(client, tom, bad, "in_review").status_code == 404
    assert _assign(client, tom, bad, "tom").status_code == 404
    assert list(_reasons(client, team["root"])) == [bad]
    assert client.get(f"{API}/review-queue", headers={}).status_code == 401


def test_states_move_open_in_review_done_and_bad_moves_are_409(client: TestClient, team: dict[str, Headers],
                                                               upload: Callable[..., str]) -> None:
    sue = team["sue"]
    bad = upload(sue, agent="alice", **FORBIDDEN)
    assert _state(client, sue, bad, "done").status_code == 409  # open -> done skips the review
    assert _state(client, sue, bad, "open").status_code == 409
    started = _state(client, sue, bad, "in_review")
    assert started.status_code == 200, started.text
    assert (started.json()["state"], started.json()["assigned_to"]) == ("in_review", "sue")  # started: hers
    assert _state(client, sue, bad, "in_review").status_code == 409
    assert _state(client, sue, bad, "bogus").status_code == 422
    done = _state(client, sue, bad, "done")
    assert done.status_code == 200 and done.json()["done_by"] == "sue" and done.json()["done_at"]
    assert _queue(client, sue, state="done")["total"] == 1 and _queue(client, sue, state="open")["total"] == 0
    assert _assign(client, sue, bad, "sam").status_code == 409  # done: reopen first
    reopened = _state(client, sue, bad, "open")
    assert reopened.json()["state"] == "open" and reopened.json()["done_by"] is None
    assert client.post(f"{API}/review-queue/{bad}/state", json={}, headers=sue).status_code == 422
    not_queued = upload(sue, agent="alice", **BASE)
    assert _state(client, sue, not_queued, "in_review").status_code == 404
    assert client.get(f"{API}/review-queue", params={"state": "closed"}, headers=sue).status_code == 422
    assert client.get(f"{API}/review-queue", params={"reason": "x"}, headers=sue).status_code == 422

    audit = client.get(f"{API}/calls/{bad}/audit", headers=sue).json()
    moves = [(e["action"], e["actor"], e["before"]["state"], e["after"]["state"]) for e in audit
             if e["action"] == "review_item.state"]
    assert moves == [("review_item.state", "sue", "open", "in_review"),
                     ("review_item.state", "sue", "in_review", "done"), ("review_item.state", "sue", "done", "open")]


def test_assignment_only_to_the_teams_supervisors_or_admins_and_audited(client: TestClient,
                                                                        team: dict[str, Headers],
                                                                        upload: Callable[..., str]) -> None:
    sue = team["sue"]
    bad = upload(sue, agent="alice", **FORBIDDEN)
    for reviewer in ("alice", "tom", "nobody"):  # an agent, another team's supervisor, no such user
        refused = _assign(client, sue, bad, reviewer)
        assert refused.status_code == 422 and "reviewer" in refused.json()["detail"], refused.text
    assert _assign(client, sue, bad, "").status_code == 422
    assert client.post(f"{API}/review-queue/{bad}/assign", json={}, headers=sue).status_code == 422
    assigned = _assign(client, sue, bad, "sam")
    assert assigned.status_code == 200 and assigned.json()["assigned_to"] == "sam"
    assert _queue(client, sue, assigned_to="sam")["total"] == 1
    assert _assign(client, team["root"], bad, "root").json()["assigned_to"] == "root"
    assert _assign(client, sue, bad, None).json()["assigned_to"] is None
    audit = [e for e in client.get(f"{API}/calls/{bad}/audit", headers=sue).json()
             if e["action"] == "review_item.assigned"]
    assert [(e["actor"], e["before"]["assigned_to"], e["after"]["assigned_to"]) for e in audit] == [
        ("sue", None, "sam"), ("root", "sam", "root"), ("sue", "root", None)]


def test_an_open_dispute_blocks_done_and_its_decision_finishes_a_dispute_only_item(
        client: TestClient, team: dict[str, Headers], upload: Callable[..., str]) -> None:
    sue, alice = team["sue"], team["alice"]
    call = upload(sue, agent="alice", **BASE)
    review = _dispute(client, alice, call)
    assert _state(client, sue, call, "in_review").status_code == 200
    blocked = _state(client, sue, call, "done")
    assert blocked.status_code == 409 and "dispute" in blocked.json()["detail"]
    decided = client.post(f"{API}/reviews/{review['id']}/reject", json={"comment": "no"}, headers=sue)
    assert decided.status_code == 200, decided.text
    item = client.get(f"{API}/review-queue/{call}", headers=sue).json()
    assert (item["state"], item["done_by"], item["open_disputes"]) == ("done", "sue", 0)
    # a new dispute reopens the finished item
    second = client.post(f"{API}/calls/{call}/findings/speech_rate/dispute", json={"comment": "again"}, headers=alice)
    assert second.status_code == 201, second.text
    assert client.get(f"{API}/review-queue/{call}", headers=sue).json()["state"] == "open"


def test_low_score_threshold_is_a_setting(tmp_path: Any, db_url: str) -> None:
    from api.main import create_app
    from qa_engine.app.settings import Settings
    from qa_engine.app.users import create_user

    from .conftest import ZH_TRANSCRIPT

    app = create_app(Settings(data_dir=tmp_path / "data", db_url=db_url, workers=0, review_low_score=95))
    with TestClient(app) as strict:
        with app.state.session_factory() as session:
            _user, key = create_user(session, "sue2", "supervisor", "t1")
            create_user(session, "alice", "agent", "t1")
        headers = {"Authorization": f"Bearer {key}"}
        response = strict.post(f"{API}/calls", json={**ZH_TRANSCRIPT, **BASE, "agent": "alice"}, headers=headers)
        assert response.status_code == 201, response.text
        assert _reasons(strict, headers) == {response.json()["id"]: ["low_score"]}  # 94.1 < 95
