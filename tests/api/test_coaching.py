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


def _edit(client: TestClient, headers: Headers, call: str, comment: int, **body: Any) -> Any:
    return client.patch(f"{API}/calls/{call}/comments/{comment}", json=body, headers=headers)


def _delete(client: TestClient, headers: Headers, call: str, comment: int) -> Any:
    return client.delete(f"{API}/calls/{call}/comments/{comment}", headers=headers)


def _coaching_audit(client: TestClient, headers: Headers, call: str, action: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = client.get(f"{API}/calls/{call}/audit", headers=headers).json()
    return [e for e in entries if e["action"] == action]


def test_the_author_edits_a_comment_and_its_text_stays_masked(client: TestClient, team: dict[str, Headers],
                                                              upload: Callable[..., str]) -> None:
    call = upload(team["sue"], agent="alice", **BASE)
    made = _comment(client, team["sue"], call, text="先复述号码。", at=2.0).json()
    assert made["edited_at"] is None and made["deleted_at"] is None

    edited = _edit(client, team["sue"], call, made["id"], text=f"  先复述客户号码 {PHONE} 再确认。 ")
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert body["text"].startswith("先复述客户号码 ***") and PHONE not in edited.text  # trimmed and masked
    assert body["edited_at"] is not None and body["at"] == 2.0 and body["created_at"] == made["created_at"]
    listed = client.get(f"{API}/calls/{call}/comments", headers=team["alice"])
    assert listed.json()[0]["edited_at"] == body["edited_at"] and PHONE not in listed.text
    history = client.get(f"{API}/coaching", params={"agent": "alice"}, headers=team["sue"])
    assert history.json()["items"][0]["edited_at"] is not None and PHONE not in history.text
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        assert PHONE not in session.get(CoachingComment, made["id"]).text  # stored masked, not only shown

    [entry] = _coaching_audit(client, team["sue"], call, "coaching.edit")
    assert entry["actor"] == "sue" and entry["before"] == {"comment": made["id"], "text": "先复述号码。"}
    assert entry["after"]["text"] == body["text"] and PHONE not in str(entry)
    again = _edit(client, team["sue"], call, made["id"], text=body["text"])  # the same text: no new edit
    assert again.status_code == 200 and again.json()["edited_at"] == body["edited_at"]
    assert len(_coaching_audit(client, team["sue"], call, "coaching.edit")) == 1


def test_only_the_author_edits_and_an_agent_edits_their_own_reply(client: TestClient, team: dict[str, Headers],
                                                                  upload: Callable[..., str],
                                                                  make_user: Callable[..., Headers]) -> None:
    sam = make_user("sam", "supervisor", "t1")  # sees the call, did not write the comment
    call = upload(team["sue"], agent="alice", **BASE)
    made = _comment(client, team["sue"], call, text="注意语速。").json()
    reply = _comment(client, team["alice"], call, text="收到", parent=made["id"]).json()
    for other in (sam, team["root"], team["alice"]):  # an admin moderates by deleting, not by rewriting
        refused = _edit(client, other, call, made["id"], text="改掉")
        assert refused.status_code == 403 and "author" in refused.json()["detail"], refused.text
        assert _delete(client, sam, call, made["id"]).status_code == 403
    assert _delete(client, team["alice"], call, made["id"]).status_code == 403

    own = _edit(client, team["alice"], call, reply["id"], text="收到，下次注意。")
    assert own.status_code == 200 and own.json()["text"] == "收到，下次注意。" and own.json()["parent"] == made["id"]
    assert _edit(client, team["sue"], call, reply["id"], text="不是你的").status_code == 403
    threads = client.get(f"{API}/calls/{call}/comments", headers=team["sue"]).json()
    assert threads[0]["text"] == "注意语速。" and threads[0]["edited_at"] is None
    assert threads[0]["replies"][0]["text"] == "收到，下次注意。" and threads[0]["replies"][0]["edited_at"]
    assert [e["actor"] for e in _coaching_audit(client, team["sue"], call, "coaching.edit")] == ["alice"]


def test_deleting_a_first_comment_with_replies_keeps_the_thread(client: TestClient, team: dict[str, Headers],
                                                                upload: Callable[..., str]) -> None:
    call = upload(team["sue"], agent="alice", **BASE)
    made = _comment(client, team["sue"], call, text=f"写错了电话 {PHONE}", at=1.0).json()
    reply = _comment(client, team["alice"], call, text="好的", parent=made["id"]).json()

    assert _delete(client, team["sue"], call, made["id"]).status_code == 204
    [thread] = client.get(f"{API}/calls/{call}/comments", headers=team["alice"]).json()
    assert thread["id"] == made["id"] and thread["text"] == coaching.TOMBSTONE == "deleted"
    assert thread["deleted_by"] == "sue" and thread["deleted_at"] is not None
    assert [r["id"] for r in thread["replies"]] == [reply["id"]]
    assert _edit(client, team["sue"], call, made["id"], text="复活").status_code == 409
    assert _delete(client, team["sue"], call, made["id"]).status_code == 409
    [entry] = _coaching_audit(client, team["sue"], call, "coaching.delete")
    assert entry["before"]["text"].startswith("写错了电话 ***") and PHONE not in str(entry)
    assert entry["after"]["tombstone"] is True

    assert _delete(client, team["alice"], call, reply["id"]).status_code == 204  # the last reply: thread goes
    assert client.get(f"{API}/calls/{call}/comments", headers=team["sue"]).json() == []
    assert _coaching_audit(client, team["sue"], call, "coaching.delete")[-1]["after"]["thread_removed"] == made["id"]


def test_a_deleted_thread_takes_no_new_replies(client: TestClient, team: dict[str, Headers],
                                               upload: Callable[..., str]) -> None:
    """A tombstone keeps its replies readable; it is not a conversation to go on with: 409, nothing stored."""
    call = upload(team["sue"], agent="alice", **BASE)
    made = _comment(client, team["sue"], call, text="注意语速。").json()
    reply = _comment(client, team["alice"], call, text="好的", parent=made["id"]).json()
    assert _delete(client, team["sue"], call, made["id"]).status_code == 204

    for author, parent in (("alice", made["id"]), ("sue", made["id"]), ("alice", reply["id"])):
        late = _comment(client, team[author], call, text="还有一点", parent=parent)
        assert late.status_code == 409, late.text
        assert late.json()["detail"] == f"comment {made['id']} was deleted: its thread takes no new replies"
    [thread] = client.get(f"{API}/calls/{call}/comments", headers=team["sue"]).json()
    assert [r["id"] for r in thread["replies"]] == [reply["id"]]
    replies = _coaching_audit(client, team["sue"], call, "coaching.reply")
    assert [e["after"]["comment"] for e in replies] == [reply["id"]]  # the refused replies left no audit entry

    assert _delete(client, team["alice"], call, reply["id"]).status_code == 204  # the last reply: thread goes
    assert _comment(client, team["alice"], call, text="还有一点", parent=made["id"]).status_code == 404


def test_replies_and_lone_comments_are_removed_and_an_admin_deletes_any(
        client: TestClient, team: dict[str, Headers], upload: Callable[..., str]) -> None:
    call = upload(team["sue"], agent="alice", **BASE)
    lone = _comment(client, team["sue"], call, text="写到了别的电话上").json()
    kept = _comment(client, team["sue"], call, text="保留的点评").json()
    reply = _comment(client, team["alice"], call, text="回复一", parent=kept["id"]).json()
    second = _comment(client, team["alice"], call, text="回复二", parent=kept["id"]).json()

    assert _delete(client, team["sue"], call, lone["id"]).status_code == 204
    assert _delete(client, team["alice"], call, reply["id"]).status_code == 204
    assert _delete(client, team["root"], call, second["id"]).status_code == 204  # moderation
    threads = client.get(f"{API}/calls/{call}/comments", headers=team["sue"]).json()
    assert [(t["id"], t["replies"], t["deleted_at"]) for t in threads] == [(kept["id"], [], None)]
    assert _delete(client, team["root"], call, kept["id"]).status_code == 204
    assert client.get(f"{API}/calls/{call}/comments", headers=team["sue"]).json() == []
    for gone in (lone, reply):
        assert _delete(client, team["sue"], call, gone["id"]).status_code == 404
    actors = [(e["actor"], e["before"]["text"]) for e in _coaching_audit(client, team["sue"], call, "coaching.delete")]
    assert actors == [("sue", "写到了别的电话上"), ("alice", "回复一"), ("root", "回复二"), ("root", "保留的点评")]


def test_a_deleted_comments_id_is_never_given_to_a_new_one(client: TestClient, team: dict[str, Headers],
                                                           upload: Callable[..., str]) -> None:
    """The audit trail names comments by id: after the newest comment is deleted, the next one gets a new id
    (SQLite would hand out max(id) + 1 again without AUTOINCREMENT)."""
    call = upload(team["sue"], agent="alice", **BASE)
    gone = _comment(client, team["sue"], call, text="写错了").json()
    assert _delete(client, team["sue"], call, gone["id"]).status_code == 204
    fresh = _comment(client, team["sue"], call, text="重新写一条").json()
    assert fresh["id"] > gone["id"]
    assert _delete(client, team["sue"], call, gone["id"]).status_code == 404


def test_editing_or_deleting_elsewhere_answers_404_and_bad_input_422(client: TestClient, team: dict[str, Headers],
                                                                     upload: Callable[..., str]) -> None:
    sue = team["sue"]
    call = upload(sue, agent="alice", **BASE)
    other = upload(sue, agent="bob", **COMPLAINT)
    mine = _comment(client, sue, call, text="原文").json()
    elsewhere = _comment(client, sue, other, text="别的电话").json()
    for change in (lambda h, c, i: _edit(client, h, c, i, text="改"), lambda h, c, i: _delete(client, h, c, i)):
        assert change(sue, call, elsewhere["id"]).status_code == 404  # a comment of another call
        assert change(sue, call, 999_999).status_code == 404
        assert change(sue, "nope", mine["id"]).status_code == 404
        for outsider in ("bob", "tom"):  # cannot see the call: 404 as for reading it
            assert change(team[outsider], call, mine["id"]).status_code == 404
        for bad_id in (0, 2**40, "x"):
            assert change(sue, call, bad_id).status_code == 422
        assert change({}, call, mine["id"]).status_code == 401
    cases: list[tuple[dict[str, Any], str]] = [({"text": " \n "}, "text"), ({"text": "\u0000"}, "text"),
                                               ({"text": "长" * (coaching.MAX_TEXT_CHARS + 1)}, "text"),
                                               ({}, "text"), ({"text": "ok", "at": 1}, "at")]
    for body, named in cases:
        response = _edit(client, sue, call, mine["id"], **body)
        assert response.status_code == 422 and named in response.text, (body, response.text)
    assert client.get(f"{API}/calls/{call}/comments", headers=sue).json()[0]["text"] == "原文"
