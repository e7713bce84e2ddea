"""Calls: scoring an uploaded transcript, reading it back, and role scoping (404 for others' calls)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
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
    assert "13812345678" not in texts and "***********" in texts and "5678" not in texts  # masked by default


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
    assert upload(sup, agent="alice", call_id="zh-002") not in t1_calls
    refused = client.post("/api/v1/calls", json={**ZH_TRANSCRIPT, "agent": "carol"}, headers=sup)
    assert refused.status_code == 422 and "agent:" in refused.json()["detail"]


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
        ({"utterances": []}, "language:"),
        ({"language": "zh"}, "utterances:"),
        (bad_role, "utterances[0].role: must be one of"),
        ({**ZH_TRANSCRIPT, "utterances": [{"role": "agent", "start": -1, "end": 1, "text": "x"}]},
         "utterances[0].start: must be between 0 and"),
        ({**ZH_TRANSCRIPT, "utterances": [{"role": "agent", "start": "a", "end": 1, "text": "x"}]}, "start:"),
        ({**ZH_TRANSCRIPT, "pack": "../../etc/passwd"}, "'pack'"),
        ({**ZH_TRANSCRIPT, "pack": "no-such-pack"}, "no-such-pack"),
        ({**ZH_TRANSCRIPT, "started_at": "yesterday"}, "started_at: must be an ISO 8601"),
        (b"\xff\xfe", "UTF-8"),
    ]
    for body, expected in cases:
        code, detail = post(body)
        assert code == 422, (body, code, detail)
        assert expected in detail and not detail.startswith("body"), (body, detail)
    wrong_type = client.post("/api/v1/calls", content="x", headers={**alice, "Content-Type": "text/plain"})
    assert wrong_type.status_code == 415


def test_unknown_agent_is_422(client: TestClient, make_user: Callable[..., Headers]) -> None:
    admin = make_user("root", "admin")
    response = client.post("/api/v1/calls", json={**ZH_TRANSCRIPT, "agent": "nobody"}, headers=admin)
    assert response.status_code == 422 and "nobody" in response.json()["detail"]
    no_agent = client.post("/api/v1/calls", json=ZH_TRANSCRIPT, headers=admin)
    assert no_agent.status_code == 422 and "agent:" in no_agent.json()["detail"]


NO_GREETING = {**ZH_TRANSCRIPT, "utterances": [{**ZH_TRANSCRIPT["utterances"][0], "text": "喂，说吧。"},
                                               *ZH_TRANSCRIPT["utterances"][1:]]}
COMPLAINT_TURN = {**ZH_TRANSCRIPT["utterances"][1], "text": "我要投诉，你们太差了，等了三天。"}
COMPLAINT = {**ZH_TRANSCRIPT, "utterances": [ZH_TRANSCRIPT["utterances"][0], COMPLAINT_TURN,
                                             *ZH_TRANSCRIPT["utterances"][2:]]}


def test_list_filters_sort_and_pages(client: TestClient, make_user: Callable[..., Headers],
                                     upload: Callable[..., str]) -> None:
    admin = make_user("root", "admin")
    make_user("alice", "agent", "t1")
    make_user("carol", "agent", "t2")
    good = upload(admin, agent="alice", started_at="2025-03-01T09:00:00+00:00")
    rude = upload(admin, agent="alice", started_at="2025-03-02T23:30:00-02:00", utterances=NO_GREETING["utterances"])
    angry = upload(admin, agent="carol", started_at="2025-03-03T08:00:00+08:00", utterances=COMPLAINT["utterances"])
    undated = upload(admin, agent="carol")  # no start time: filtered and sorted by its upload time

    def ids(**params: Any) -> list[str]:
        response = client.get("/api/v1/calls", params=params, headers=admin)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["items"]]

    assert ids() == [undated, angry, rude, good]  # newest upload first
    # scores: angry 65, rude 76.5, good = undated 94.1 (ties in id order)
    assert ids(sort="score") == [angry, rude, *sorted([good, undated])]
    assert ids(sort="-score") == [*sorted([good, undated], reverse=True), rude, angry]
    # in UTC: good 03-01T09:00, angry 03-03T00:00, rude 03-03T01:30, undated: now
    assert ids(sort="started_at") == [good, angry, rude, undated]
    assert ids(sort="-started_at") == [undated, rude, angry, good]
    assert ids(failed_rule="greeting") == [rude]
    assert set(ids(failed_rule="apology_on_complaint")) == {angry}
    assert ids(category="投诉") == [angry]
    assert set(ids(grade="合格")) == {rude, angry}
    assert set(ids(min_score=90)) == {good, undated} and ids(max_score=70) == [angry]
    assert set(ids(status="done")) == {good, rude, angry, undated} and ids(status="queued") == []
    # date range on started_at (UTC): rude started 2025-03-03T01:30Z, angry 2025-03-03T00:00Z
    assert set(ids(**{"from": "2025-03-03", "to": "2025-03-03"})) == {rude, angry}
    assert ids(**{"from": "2025-03-01", "to": "2025-03-01"}) == [good]
    assert ids(**{"from": "2025-03-03T00:30:00Z", "to": "2025-03-03T01:30:00Z"}) == [rude]
    assert ids(agent="carol", sort="created_at") == [angry, undated]
    assert ids(limit=2, offset=1) == [angry, rude]

    def refused(**params: Any) -> str:
        response = client.get("/api/v1/calls", params=params, headers=admin)
        assert response.status_code == 422, (params, response.text)
        return json.dumps(response.json()["detail"], ensure_ascii=False)

    assert "allowed: created_at, -created_at" in refused(sort="loudness")
    assert "'from'" in refused(**{"from": "last week"})
    assert "'from' must be before 'to'" in refused(**{"from": "2025-03-04", "to": "2025-03-01"})
    assert "'status'" in refused(status="lost")
    assert "min_score" in refused(min_score=80, max_score=20)
    refused(limit=500)
    refused(offset=-1)
    refused(limit="ten")


def test_supervisor_with_several_teams(client: TestClient, make_user: Callable[..., Headers],
                                       upload: Callable[..., str]) -> None:
    from qa_engine.app.users import create_user

    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        _sup, key = create_user(session, "sam", "supervisor", "t1", ["t2"])
    sam = {"Authorization": f"Bearer {key}"}
    t1 = upload(make_user("alice", "agent", "t1"))
    t2 = upload(make_user("carol", "agent", "t2"))
    t3 = upload(make_user("dave", "agent", "t3"))
    listed = client.get("/api/v1/calls", headers=sam).json()
    assert {c["id"] for c in listed["items"]} == {t1, t2} and listed["total"] == 2
    assert client.get(f"/api/v1/calls/{t2}", headers=sam).status_code == 200
    assert client.get(f"/api/v1/calls/{t3}", headers=sam).status_code == 404
    assert client.get("/api/v1/calls", params={"team": "t3"}, headers=sam).json()["items"] == []
    upload(sam, agent="carol")  # uploads for an agent of their second team
    refused = client.post("/api/v1/calls", json={**ZH_TRANSCRIPT, "agent": "dave"}, headers=sam)
    assert refused.status_code == 422 and "agent:" in refused.json()["detail"]


def test_transcript_call_has_no_audio_and_only_admins_delete(client: TestClient, make_user: Callable[..., Headers],
                                                              upload: Callable[..., str]) -> None:
    alice, sue, root = make_user("alice", "agent", "t1"), make_user("sue", "supervisor", "t1"), make_user("root",
                                                                                                          "admin")
    call_id = upload(alice)
    call = client.get(f"/api/v1/calls/{call_id}", headers=alice).json()
    assert call["source"] == "transcript" and call["audio_url"] is None
    no_audio = client.get(f"/api/v1/calls/{call_id}/audio", headers=alice)
    assert no_audio.status_code == 404 and "no audio" in no_audio.json()["detail"]
    assert client.delete(f"/api/v1/calls/{call_id}", headers=alice).status_code == 403
    assert client.delete(f"/api/v1/calls/{call_id}", headers=sue).status_code == 403
    assert client.delete(f"/api/v1/calls/{call_id}", headers=root).status_code == 204
    assert client.get(f"/api/v1/calls/{call_id}", headers=alice).status_code == 404
    assert client.get("/api/v1/calls", headers=root).json()["total"] == 0


def test_raw_transcripts_are_kept_only_when_configured(tmp_path: Path, db_url: str) -> None:
    from sqlalchemy import select

    from api.main import create_app
    from qa_engine.app.models import Call
    from qa_engine.app.settings import Settings
    from qa_engine.app.users import create_user

    for keep in (False, True):
        settings = Settings(data_dir=tmp_path / f"data-{keep}", db_url=db_url, workers=0, keep_raw_transcripts=keep)
        with TestClient(create_app(settings)) as client:
            with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
                _user, key = create_user(session, f"alice{keep}", "agent", "t1")
            created = client.post("/api/v1/calls", json=ZH_TRANSCRIPT, headers={"Authorization": f"Bearer {key}"})
            assert created.status_code == 201
            with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
                call = session.scalar(select(Call).where(Call.id == created.json()["id"]))
                assert call is not None and "13812345678" not in json.dumps(call.report, ensure_ascii=False)
                raw = json.dumps(call.raw_transcript, ensure_ascii=False)
                assert ("13812345678" in raw) is keep and (call.raw_transcript is None) is not keep
