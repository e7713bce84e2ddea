"""Calls: scoring an uploaded transcript, reading it back, and role scoping (404 for others' calls)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from .conftest import ZH_TRANSCRIPT

Headers = dict[str, str]


def test_health_needs_no_key(client: TestClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_missing_or_invalid_key_is_401(client: TestClient) -> None:
    missing = client.get("/api/v1/calls")
    assert missing.status_code == 401
    assert "Authorization: Bearer" in missing.json()["detail"]
    assert missing.headers["www-authenticate"] == "Bearer"
    bad = client.get("/api/v1/calls", headers={"Authorization": "Bearer not-a-key"})
    assert bad.status_code == 401
    assert bad.json() == {"detail": "invalid API key"}
    assert client.post("/api/v1/calls", json=ZH_TRANSCRIPT).status_code == 401


def test_transcript_is_scored_and_stored(client: TestClient, make_user: Callable[..., Headers]) -> None:
    alice = make_user("alice", "agent", "t1")
    created = client.post("/api/v1/calls", json={**ZH_TRANSCRIPT, "started_at": "2025-01-31T09:30:00+08:00"},
                          headers=alice)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "done"
    call = client.get(f"/api/v1/calls/{created.json()['id']}", headers=alice).json()
    assert call["agent"] == "alice" and call["team"] == "t1" and call["call_id"] == "zh-001"
    assert call["language"] == "zh" and call["pack"] == "zh-CN"
    assert call["started_at"] in ("2025-01-31T01:30:00Z", "2025-01-31T01:30:00+00:00")
    assert call["created_at"].endswith(("Z", "+00:00"))
    report = call["report"]
    assert report["score"] == call["score"] and report["grade"] == call["grade"]
    assert {f["rule_id"] for f in report["findings"]} >= {"greeting"}
    texts = " ".join(u["text"] for u in report["utterances"])
    assert "13812345678" not in texts and "138****5678" in texts  # masked by default


def test_agent_sees_only_own_calls(client: TestClient, make_user: Callable[..., Headers],
                                   upload: Callable[..., str]) -> None:
    alice, bob = make_user("alice", "agent", "t1"), make_user("bob", "agent", "t1")
    alice_call, bob_call = upload(alice), upload(bob)
    listed = client.get("/api/v1/calls", headers=alice).json()
    assert [c["id"] for c in listed["items"]] == [alice_call] and listed["total"] == 1
    assert client.get(f"/api/v1/calls/{alice_call}", headers=alice).status_code == 200
    other = client.get(f"/api/v1/calls/{bob_call}", headers=alice)
    missing = client.get("/api/v1/calls/does-not-exist", headers=alice)
    assert other.status_code == missing.status_code == 404  # no existence leak
    assert client.get("/api/v1/calls", params={"agent": "bob"}, headers=alice).json()["items"] == []


def test_agent_cannot_upload_for_another_agent(client: TestClient, make_user: Callable[..., Headers]) -> None:
    alice = make_user("alice", "agent", "t1")
    make_user("bob", "agent", "t1")
    response = client.post("/api/v1/calls", json={**ZH_TRANSCRIPT, "agent": "bob"}, headers=alice)
    assert response.status_code == 403
    assert "agent" in response.json()["detail"]


def test_supervisor_sees_their_team(client: TestClient, make_user: Callable[..., Headers],
                                    upload: Callable[..., str]) -> None:
    sup = make_user("sue", "supervisor", "t1")
    t1_calls = {upload(make_user("alice", "agent", "t1")), upload(make_user("bob", "agent", "t1"))}
    other_team = upload(make_user("carol", "agent", "t2"))
    listed = client.get("/api/v1/calls", headers=sup).json()
    assert {c["id"] for c in listed["items"]} == t1_calls
    assert client.get(f"/api/v1/calls/{other_team}", headers=sup).status_code == 404
    # a supervisor uploads for an agent of their team, not for another team's agent
    upload(sup, agent="alice")
    refused = client.post("/api/v1/calls", json={**ZH_TRANSCRIPT, "agent": "carol"}, headers=sup)
    assert refused.status_code == 422 and "'agent'" in refused.json()["detail"]


def test_admin_sees_all(client: TestClient, make_user: Callable[..., Headers], upload: Callable[..., str]) -> None:
    admin = make_user("root", "admin")
    ids = {upload(make_user("alice", "agent", "t1")), upload(make_user("carol", "agent", "t2"))}
    ids.add(upload(admin, agent="carol"))
    listed = client.get("/api/v1/calls", headers=admin).json()
    assert {c["id"] for c in listed["items"]} == ids and listed["total"] == 3
    page = client.get("/api/v1/calls", params={"limit": 1, "offset": 1}, headers=admin).json()
    assert len(page["items"]) == 1 and page["total"] == 3
    assert client.get("/api/v1/calls", params={"team": "t2"}, headers=admin).json()["total"] == 2
    assert client.get("/api/v1/calls", params={"limit": 0}, headers=admin).status_code == 422


def test_bad_input_is_422_naming_the_field(client: TestClient, make_user: Callable[..., Headers]) -> None:
    alice = make_user("alice", "agent", "t1")
    make_user("root", "admin")

    def post(body: Any, **kwargs: Any) -> tuple[int, str]:
        response = client.post("/api/v1/calls", headers={**alice, "Content-Type": "application/json"},
                               content=body if isinstance(body, (str, bytes)) else json.dumps(body), **kwargs)
        detail = response.json()["detail"]
        return response.status_code, detail if isinstance(detail, str) else json.dumps(detail)

    bad_role = {**ZH_TRANSCRIPT, "utterances": [{"role": "boss", "start": 0, "end": 1, "text": "x"}]}
    cases: list[tuple[Any, str]] = [
        ("{not json", "malformed JSON"),
        ("[1, 2]", "JSON object"),
        ({"utterances": []}, "'language'"),
        ({"language": "zh"}, "'utterances'"),
        (bad_role, "utterances[0]: field 'role'"),
        ({**ZH_TRANSCRIPT, "utterances": [{"role": "agent", "start": "a", "end": 1, "text": "x"}]}, "'start'"),
        ({**ZH_TRANSCRIPT, "pack": "../../etc/passwd"}, "'pack'"),
        ({**ZH_TRANSCRIPT, "pack": "no-such-pack"}, "no-such-pack"),
        ({**ZH_TRANSCRIPT, "started_at": "yesterday"}, "'started_at'"),
        (b"\xff\xfe", "UTF-8"),
    ]
    for body, expected in cases:
        code, detail = post(body)
        assert code == 422, (body, code, detail)
        assert expected in detail, (body, detail)
    wrong_type = client.post("/api/v1/calls", content="x", headers={**alice, "Content-Type": "text/plain"})
    assert wrong_type.status_code == 415


def test_unknown_agent_is_422(client: TestClient, make_user: Callable[..., Headers]) -> None:
    admin = make_user("root", "admin")
    response = client.post("/api/v1/calls", json={**ZH_TRANSCRIPT, "agent": "nobody"}, headers=admin)
    assert response.status_code == 422 and "nobody" in response.json()["detail"]
    no_agent = client.post("/api/v1/calls", json=ZH_TRANSCRIPT, headers=admin)
    assert no_agent.status_code == 422 and "'agent'" in no_agent.json()["detail"]
