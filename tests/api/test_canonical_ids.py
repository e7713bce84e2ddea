"""Canonical grade and category ids: a Mandarin 不合格 and an English fail are one grade to filters and aggregates."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from fastapi.testclient import TestClient

from qa_engine.app.database import make_engine
from qa_engine.app.migrate import alembic_config

from ..labelled_pack import LABELLED_PACK, LABELLED_PACK_ID
from .zh_calls import BASE, COMPLAINT, CURT, FORBIDDEN, NO_GREETING

Headers = dict[str, str]
API = "/api/v1"

#: an English call that fails (forbidden phrase caps it: fail) and is a complaint
EN_FAILING: dict[str, Any] = {"call_id": "en-fail", "language": "en", "utterances": [
    {"role": "agent", "start": 0.0, "end": 3.0, "text": "Yeah what."},
    {"role": "customer", "start": 3.5, "end": 6.0, "text": "I want to complain, this is the third time."},
    {"role": "agent", "start": 6.5, "end": 9.0, "text": "That's not my problem, calm down."},
    {"role": "customer", "start": 9.5, "end": 11.0, "text": "Unbelievable."},
    {"role": "agent", "start": 11.5, "end": 13.0, "text": "Bye."}]}

#: an English call that passes every rule (100, excellent) and its variants that grade lower
EN_GREAT: dict[str, Any] = {"call_id": "en-great", "language": "en", "utterances": [
    {"role": "agent", "start": 0.5, "end": 4.1,
     "text": "Thank you for calling Acme support, this is Joe, how can I help you today?"},
    {"role": "customer", "start": 4.55, "end": 12.85,
     "text": "Hi, I ordered a laptop last week and it still hasn't arrived. "
             "My order number is four seven three nine one."},
    {"role": "agent", "start": 13.3, "end": 18.87,
     "text": "I'm sorry about the delay. I see order number four seven three nine one, "
             "it will arrive tomorrow morning."},
    {"role": "customer", "start": 18.07, "end": 19.83, "text": "Oh, tomorrow? Great."},
    {"role": "agent", "start": 20.28, "end": 22.08, "text": "Is there anything else I can help you with?"},
    {"role": "customer", "start": 22.53, "end": 24.88, "text": "No, that's all. Thank you."},
    {"role": "agent", "start": 25.33, "end": 26.88, "text": "Thank you for calling, goodbye."}]}


def _en_variant(call_id: str, **texts: str) -> dict[str, Any]:
    utterances = [{**u, "text": texts.get(f"u{i}", u["text"])} for i, u in enumerate(EN_GREAT["utterances"])]
    return {**EN_GREAT, "call_id": call_id, "utterances": utterances}


#: greeting fails (85, good)
EN_GOOD = _en_variant("en-good", u0="Hello.")
#: greeting and the offer of further help fail (75, pass)
EN_PASS = _en_variant("en-pass", u0="Hello.", u4="Okay.")


def _post(client: TestClient, headers: Headers, doc: dict[str, Any], **extra: Any) -> str:
    response = client.post(f"{API}/calls", json={**doc, **extra}, headers=headers)
    assert response.status_code == 201, response.text
    call_id: str = response.json()["id"]
    return call_id


def _ids(client: TestClient, headers: Headers, **params: str) -> set[str]:
    response = client.get(f"{API}/calls", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return {c["id"] for c in response.json()["items"]}


def test_grade_fail_finds_mandarin_and_english_calls(client: TestClient, make_user: Callable[..., Headers]) -> None:
    admin = make_user("root", "admin")
    make_user("alice", "agent", "t1")
    make_user("bob", "agent", "t1")
    zh_fail = _post(client, admin, FORBIDDEN, agent="alice", started_at="2026-11-17T09:00:00Z")
    zh_complaint = _post(client, admin, COMPLAINT, agent="alice", started_at="2026-11-17T10:00:00Z")
    en_fail = _post(client, admin, EN_FAILING, agent="bob", started_at="2026-11-18T09:00:00Z")
    zh, en = (client.get(f"{API}/calls/{i}", headers=admin).json() for i in (zh_fail, en_fail))
    assert (zh["grade"], zh["grade_id"]) == ("不合格", "fail") and (en["grade"], en["grade_id"]) == ("fail", "fail")
    assert (en["category"], en["category_id"]) == ("complaint", "complaint")

    assert _ids(client, admin, grade="fail") == {zh_fail, en_fail}  # the acceptance test of issue #18
    assert _ids(client, admin, grade="不合格") == {zh_fail, en_fail}  # a known label means its id
    assert _ids(client, admin, grade="FAIL") == {zh_fail, en_fail}
    assert _ids(client, admin, category="complaint") == {zh_complaint, en_fail}
    assert _ids(client, admin, category="投诉") == {zh_complaint, en_fail}
    assert _ids(client, admin, grade="excellent") == set() and _ids(client, admin, grade="nonsense") == set()
    listed = client.get(f"{API}/calls", params={"grade": "fail"}, headers=admin).json()["items"]
    assert {(c["grade"], c["grade_id"]) for c in listed} == {("不合格", "fail"), ("fail", "fail")}

    weekly = client.get(f"{API}/analysis/weekly", params={"week": "2026-W47"}, headers=admin).json()
    assert weekly["grades"] == {"fail": 2, "good": 1}  # one slice per grade, whatever the language
    assert {c["label"]: c["calls"] for c in weekly["categories"]} == {"complaint": 2, "inquiry": 1}
    assert weekly["hotspots"]["complaint_calls"] == 2
    card = client.get(f"{API}/scorecards/agents/alice", headers=admin).json()
    assert card["total"]["grades"] == {"fail": 1, "good": 1}


def test_review_keeps_grade_id_in_step(client: TestClient, make_user: Callable[..., Headers]) -> None:
    admin = make_user("root", "admin")
    make_user("alice", "agent", "t1")
    call = _post(client, admin, FORBIDDEN, agent="alice")
    override = client.post(f"{API}/calls/{call}/findings/forbidden_phrases/override",
                           json={"status": "pass", "comment": "quoted the customer"}, headers=admin)
    assert override.status_code == 201, override.text
    after = client.get(f"{API}/calls/{call}", headers=admin).json()
    assert (after["grade"], after["grade_id"]) == ("优秀", "excellent") and after["auto_score"] == 59.0
    assert _ids(client, admin, grade="excellent") == {call} and _ids(client, admin, grade="fail") == set()
    finding = next(f for f in after["report"]["findings"] if f["rule_id"] == "forbidden_phrases")
    assert (finding["status"], finding["auto_status"], finding["reviewed"]) == ("pass", "fail", True)


def test_pack_maps_its_own_labels(client: TestClient, make_user: Callable[..., Headers]) -> None:
    admin = make_user("root", "admin")
    make_user("zoe", "agent", "t9")
    uploaded = client.post(f"{API}/packs", content=LABELLED_PACK.encode(),
                           headers={**admin, "Content-Type": "application/yaml"})
    assert uploaded.status_code == 201, uploaded.text
    assert client.put(f"{API}/teams/t9/pack", json={"pack_id": LABELLED_PACK_ID}, headers=admin).status_code == 200
    call = _post(client, admin, FORBIDDEN, agent="zoe")
    body = client.get(f"{API}/calls/{call}", headers=admin).json()
    assert (body["grade"], body["grade_id"], body["category"], body["category_id"]) == ("差", "fail", "抱怨",
                                                                                          "complaint")
    assert _ids(client, admin, grade="fail") == {call} == _ids(client, admin, grade="差")
    assert _ids(client, admin, category="complaint") == {call}
    [queued] = client.get(f"{API}/review-queue", headers=admin).json()["items"]  # score 0: low_score
    assert (queued["id"], queued["grade"], queued["grade_id"]) == (call, "差", "fail")
    [recent] = client.get(f"{API}/agents/zoe/overview", headers=admin).json()["recent_calls"]
    assert (recent["grade"], recent["grade_id"], recent["category"], recent["category_id"]) == ("差", "fail", "抱怨",
                                                                                                "complaint")


def test_pack_label_ids_are_validated(client: TestClient, make_user: Callable[..., Headers]) -> None:
    admin = make_user("root", "admin")
    bad = LABELLED_PACK.replace("差: fail", "差: Not An Id")
    response = client.post(f"{API}/packs", content=bad.encode(), headers={**admin, "Content-Type": "application/yaml"})
    assert response.status_code == 422 and "label_ids" in response.json()["detail"]


def test_migration_backfills_ids(empty_db_url: str) -> None:
    """Rows scored before 0009 get their ids from their labels; downgrade drops the columns again."""
    cfg = alembic_config()
    engine = make_engine(empty_db_url)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0008")
            for pk, grade, category in (("a", "不合格", "投诉"), ("b", "fail", "after-sales"), ("c", "好", None)):
                conn.execute(sa.text("INSERT INTO calls (id, call_id, agent, status, source, created_at, grade, "
                                     "category) VALUES (:pk, :pk, 'x', 'done', 'transcript', CURRENT_TIMESTAMP, "
                                     ":grade, :category)"), {"pk": pk, "grade": grade, "category": category})
            command.upgrade(cfg, "0009")
            rows = conn.execute(sa.text("SELECT id, grade_id, category_id FROM calls ORDER BY id")).all()
            assert [tuple(r) for r in rows] == [("a", "fail", "complaint"), ("b", "fail", "after_sales"),
                                                ("c", "好", None)]
            command.downgrade(cfg, "0008")
            assert "grade_id" not in {c["name"] for c in sa.inspect(conn).get_columns("calls")}
    finally:
        engine.dispose()


def _listed(client: TestClient, headers: Headers, sort: str) -> list[str]:
    response = client.get(f"{API}/calls", params={"sort": sort, "limit": 50}, headers=headers)
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["items"]]


def _upload_pack(client: TestClient, admin: Headers, text: str, team: str) -> None:
    uploaded = client.post(f"{API}/packs", content=text.encode(), headers={**admin, "Content-Type": "application/yaml"})
    assert uploaded.status_code == 201, uploaded.text
    pack_id = text.split("\n", 1)[0].removeprefix("pack: ")
    assert client.put(f"{API}/teams/{team}/pack", json={"pack_id": pack_id}, headers=admin).status_code == 200


def test_sort_by_grade_follows_rank_not_label(client: TestClient, make_user: Callable[..., Headers],
                                              call_zh_stereo: Path) -> None:
    """excellent > good > pass > fail whatever the language or the pack's label; then grades without a rank (a
    pack's unmapped label), then calls without a grade, in both directions; ties in id order, as every sort."""
    admin = make_user("root", "admin")
    for name, team in (("alice", "t1"), ("bob", "t1"), ("zoe", "t9"), ("raw", "t8")):
        make_user(name, "agent", team)
    _upload_pack(client, admin, LABELLED_PACK, "t9")  # 差 -> fail
    unmapped = LABELLED_PACK.replace(f"pack: {LABELLED_PACK_ID}", "pack: acme-raw").replace("差: fail, ", "")
    _upload_pack(client, admin, unmapped, "t8")  # 差 has no id
    by_rank = {"excellent": [_post(client, admin, BASE, agent="alice"), _post(client, admin, EN_GREAT, agent="bob")],
               "good": [_post(client, admin, NO_GREETING, agent="alice"), _post(client, admin, EN_GOOD, agent="bob")],
               "pass": [_post(client, admin, CURT, agent="alice"), _post(client, admin, EN_PASS, agent="bob")],
               "fail": [_post(client, admin, FORBIDDEN, agent="alice"), _post(client, admin, EN_FAILING, agent="bob"),
                        _post(client, admin, FORBIDDEN, agent="zoe")]}
    unranked = _post(client, admin, FORBIDDEN, agent="raw")
    queued = client.post(f"{API}/calls", headers=admin, data={"agent": "alice", "agent_channel": "0"},
                         files={"file": ("call.flac", call_zh_stereo.read_bytes(), "audio/flac")})
    assert queued.status_code == 202, queued.text
    ungraded = queued.json()["id"]
    grades = {c["id"]: (c["grade"], c["grade_id"]) for c in client.get(f"{API}/calls", params={"limit": 50},
                                                                       headers=admin).json()["items"]}
    assert sorted(grades.values(), key=str) == sorted([
        ("优秀", "excellent"), ("excellent", "excellent"), ("良好", "good"), ("good", "good"), ("合格", "pass"),
        ("pass", "pass"), ("不合格", "fail"), ("fail", "fail"), ("差", "fail"), ("差", "差"), (None, None)], key=str)

    ascending = [*sorted(by_rank["fail"]), *sorted(by_rank["pass"]), *sorted(by_rank["good"]),
                 *sorted(by_rank["excellent"]), unranked, ungraded]
    assert _listed(client, admin, "grade") == ascending
    descending = [*sorted(by_rank["excellent"], reverse=True), *sorted(by_rank["good"], reverse=True),
                  *sorted(by_rank["pass"], reverse=True), *sorted(by_rank["fail"], reverse=True), unranked, ungraded]
    assert _listed(client, admin, "-grade") == descending
