"""Coaching comments: anchored at a moment, replied to by the call's agent, scoped like calls, PII-masked, audited."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from qa_engine.app import coaching
from qa_engine.app.models import CoachingComment

from .zh_calls import BASE, COMPLAINT

Headers = dict[str, str]
API = "/api/v1"
PHONE = "13812345678"


def _comment(client: TestClient, headers: Headers, call: str, **body: Any) -> Any:
    return client.post(f"{API}/calls/{call}/comments", json=body, headers=headers)


def test_supervisor_coaches_at_a_moment_and_the_agent_replies(client: TestClient, team: dict[str, Headers],
                                                              upload: Callable[..., str]) -> None:
    call = upload(team["sue"], agent="alice", **BASE)
    first = _comment(client, team["sue"], call, text=f"  这里应先复述客户号码 {PHONE} 再确认。 ", at=4.26)
    assert first.status_code == 201, first.text
    made = first.json()
    assert made["at"] == 4.3 and made["author"] == "sue" and made["author_role"] == "supervisor"
    assert made["parent"] is None and made["call"] == call
    assert PHONE not in made["text"] and made["text"].startswith("这里应先复述客户号码 ***")  # masked, trimmed

    reply = _comment(client, team["alice"], call, text="收到，下次注意。", parent=made["id"])
    assert reply.status_code == 201, reply.text
    deeper = _comment(client, team["sue"], call, text="好的。", parent=reply.json()["id"])  # joins the same thread
    assert deeper.status_code == 201 and deeper.json()["parent"] == made["id"]
    whole = _comment(client, team["root"], call, text="整通电话节奏很好。")  # no anchor: about the whole call
    assert whole.status_code == 201 and whole.json()["at"] is None

    threads = client.get(f"{API}/calls/{call}/comments", headers=team["alice"])
    assert threads.status_code == 200
    body = threads.json()
    assert [t["id"] for t in body] == [made["id"], whole.json()["id"]]
    assert [r["author"] for r in body[0]["replies"]] == ["alice", "sue"] and body[1]["replies"] == []
    assert PHONE not in threads.text

    audit = client.get(f"{API}/calls/{call}/audit", headers=team["sue"]).json()
    actions = [e["action"] for e in audit if e["action"].startswith("coaching.")]
    assert actions == ["coaching.comment", "coaching.reply", "coaching.reply", "coaching.comment"]
    assert PHONE not in str(audit)
    assert next(e for e in audit if e["action"] == "coaching.comment")["after"]["at"] == 4.3


def test_comments_are_scoped_like_calls(client: TestClient, team: dict[str, Headers],
                                        upload: Callable[..., str]) -> None:
    call = upload(team["sue"], agent="alice", **BASE)
    root_comment = _comment(client, team["sue"], call, text="注意语速。", at=1.0).json()
    for outsider in ("bob", "tom"):  # another agent of the team, a supervisor of another team
        assert client.get(f"{API}/calls/{call}/comments", headers=team[outsider]).status_code == 404
        answer = _comment(client, team[outsider], call, text="我来说一句", parent=root_comment["id"])
        assert answer.status_code == 404, answer.text
    assert client.get(f"{API}/calls/nope/comments", headers=team["root"]).status_code == 404
    started = _comment(client, team["alice"], call, text="我自己开个话题")
    assert started.status_code == 403 and "parent" in started.json()["detail"]  # agents only reply
    assert _comment(client, team["root"], call, text="管理员点评", at=2).status_code == 201
    assert client.get(f"{API}/calls/{call}/comments").status_code == 401


def test_bad_comments_answer_422_or_404_naming_the_problem(client: TestClient, team: dict[str, Headers],
                                                           upload: Callable[..., str]) -> None:
    sue = team["sue"]
    call = upload(sue, agent="alice", **BASE)
    other = upload(sue, agent="bob", **COMPLAINT)
    elsewhere = _comment(client, sue, other, text="别的电话").json()
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"text": " \n\t "}, 422, "text"),
        ({"text": "\u0000\u0007"}, 422, "text"),
        ({"text": "长" * (coaching.MAX_TEXT_CHARS + 1)}, 422, "text"),
        ({"text": "ok", "at": -1}, 422, "at"),
        ({"text": "ok", "at": 9999}, 422, "at"),  # past the end of the 19 s call
        ({"text": "ok", "at": "soon"}, 422, "at"),
        ({"text": "ok", "parent": 0}, 422, "parent"),
        ({"text": "ok", "parent": 2**40}, 422, "parent"),
        ({"text": "ok", "colour": "red"}, 422, "colour"),
        ({}, 422, "text"),
        ({"text": "ok", "parent": elsewhere["id"]}, 404, "comment"),  # a comment of another call
        ({"text": "ok", "parent": 999_999}, 404, "comment"),
    ]
    for body, code, named in cases:
        response = _comment(client, sue, call, **body)
        assert response.status_code == code, (body, response.text)
        assert named in response.text, (body, response.text)
    assert client.post(f"{API}/calls/{call}/comments", content=b"{not json", headers={
        **sue, "Content-Type": "application/json"}).status_code == 422
    assert client.get(f"{API}/calls/{call}/comments", headers=sue).json() == []


def test_a_call_takes_a_bounded_number_of_comments(client: TestClient, team: dict[str, Headers],
                                                   upload: Callable[..., str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(coaching, "MAX_COMMENTS_PER_CALL", 2)
    call = upload(team["sue"], agent="alice", **BASE)
    assert _comment(client, team["sue"], call, text="一").status_code == 201
    assert _comment(client, team["sue"], call, text="二").status_code == 201
    third = _comment(client, team["sue"], call, text="三")
    assert third.status_code == 409 and "2" in third.json()["detail"]


def test_coaching_history_per_agent(client: TestClient, team: dict[str, Headers], upload: Callable[..., str],
                                    make_user: Callable[..., Headers]) -> None:
    sue = team["sue"]
    carol = make_user("carol", "agent", "t2")
    first = upload(sue, agent="alice", **BASE)
    second = upload(sue, agent="alice", **COMPLAINT)
    bobs = upload(sue, agent="bob", **BASE)
    carols = upload(team["root"], agent="carol", **BASE)
    older = _comment(client, sue, first, text="开场白很好", at=0.5).json()
    _comment(client, team["alice"], first, text="谢谢", parent=older["id"])
    newer = _comment(client, sue, second, text="投诉时要先道歉", at=6).json()
    _comment(client, sue, bobs, text="给 bob 的")
    _comment(client, team["root"], carols, text="给 carol 的")

    mine = client.get(f"{API}/coaching", params={"agent": "alice"}, headers=sue).json()
    assert mine["total"] == 2 and [n["id"] for n in mine["items"]] == [newer["id"], older["id"]]
    assert [n["replies"] for n in mine["items"]] == [0, 1]
    assert mine["items"][1]["about"]["id"] == first and mine["items"][1]["about"]["agent"] == "alice"
    every = client.get(f"{API}/coaching", headers=sue).json()
    assert every["total"] == 3  # sue's teams only: carol (t2) is not hers
    paged = client.get(f"{API}/coaching", params={"limit": 1, "offset": 1}, headers=sue).json()
    assert len(paged["items"]) == 1 and paged["total"] == 3

    own = client.get(f"{API}/coaching", headers=team["alice"]).json()
    assert own["total"] == 2 and {n["about"]["agent"] for n in own["items"]} == {"alice"}
    assert client.get(f"{API}/coaching", params={"agent": "bob"}, headers=team["alice"]).status_code == 404
    assert client.get(f"{API}/coaching", params={"agent": "carol"}, headers=sue).status_code == 404
    assert client.get(f"{API}/coaching", params={"agent": "carol"}, headers=carol).json()["total"] == 1
    assert client.get(f"{API}/coaching", params={"limit": 0}, headers=sue).status_code == 422


def test_comments_go_with_their_call(client: TestClient, team: dict[str, Headers],
                                     upload: Callable[..., str]) -> None:
    call = upload(team["sue"], agent="alice", **BASE)
    made = _comment(client, team["sue"], call, text="删除前的点评").json()
    _comment(client, team["alice"], call, text="回复", parent=made["id"])
    assert client.delete(f"{API}/calls/{call}", headers=team["root"]).status_code == 204
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        assert session.scalar(select(func.count()).select_from(CoachingComment)) == 0
