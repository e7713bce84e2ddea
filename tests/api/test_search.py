"""``GET /api/v1/search`` on SQLite and PostgreSQL: search over masked utterance text, scoped like calls.

Calls are uploaded through the API (so they are indexed by ``store_report``, the path every scoring takes); the
index is then checked against what each role may see, the role filter, short (two-character) and long queries,
English words at word starts and case, Chinese substrings, PII masking, hostile query text, re-scoring, deletion
and the migrations' backfill.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, inspect, select, text

from qa_engine.app.database import make_engine, make_session_factory
from qa_engine.app.migrate import alembic_config, upgrade
from qa_engine.app.models import Call, SearchUtterance, User
from qa_engine.app.report_store import store_report
from qa_engine.app.search import SearchQuery, search_calls
from qa_engine.app.users import create_user
from qa_engine.report import report_to_dict

from .conftest import ZH_TRANSCRIPT, legacy_calls_table
from .zh_calls import library_report

EN_TRANSCRIPT: dict[str, Any] = {
    "call_id": "en-001", "language": "en",
    "utterances": [
        {"role": "agent", "start": 0.0, "end": 3.0, "text": "Thank you for calling, how can I help you today?"},
        {"role": "customer", "start": 3.5, "end": 6.0, "text": "My bill is wrong, it says 100%_extra fee."},
        {"role": "agent", "start": 6.5, "end": 9.0, "text": "Please hold on a moment while I check."},
        {"role": "agent", "start": 12.0, "end": 15.0, "text": "Is there anything else I can help you with? Goodbye."},
    ],
}


@pytest.fixture()
def team(team: dict[str, dict[str, str]], make_user: Callable[..., dict[str, str]]) -> dict[str, dict[str, str]]:
    """The usual cast (tests/api/conftest.py) and carol (agent, t2)."""
    return {**team, "carol": make_user("carol", "agent", "t2")}


def _search(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/search", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_supervisor_finds_the_agent_turn_and_another_agent_does_not(
        client: TestClient, team: dict[str, dict[str, str]], upload: Callable[..., str]) -> None:
    """The issue's acceptance: 稍等 with role=agent finds the agent turn of a Mandarin call for the supervisor;
    the same search by another agent of the team returns no hit in that call."""
    call = upload(team["sue"], agent="alice", started_at="2026-12-01T09:00:00+08:00")
    found = _search(client, team["sue"], q="稍等", role="agent")
    assert found["total"] == 1
    hit = found["items"][0]
    assert hit["id"] == call and client.get(f"/api/v1/calls/{hit['id']}", headers=team["sue"]).status_code == 200
    assert (hit["call_id"], hit["agent"], hit["team"], hit["role"]) == ("zh-001", "alice", "t1", "agent")
    assert (hit["start"], hit["end"]) == (6.5, 9.0)
    assert hit["started_at"].startswith("2026-12-01T01:00:00")
    assert "稍等" in hit["text"] and "13812345678" not in hit["text"] and "*" in hit["text"]  # masked text only
    assert _search(client, team["bob"], q="稍等", role="agent") == {"items": [], "total": 0, "limit": 20, "offset": 0}
    assert _search(client, team["carol"], q="稍等")["total"] == 0
    assert [h["id"] for h in _search(client, team["alice"], q="稍等")["items"]] == [call]
    assert _search(client, team["root"], q="稍等")["total"] == 1


def test_role_filter_short_and_long_queries(client: TestClient, team: dict[str, dict[str, str]],
                                            upload: Callable[..., str]) -> None:
    upload(team["sue"], agent="alice")
    assert _search(client, team["sue"], q="稍等", role="customer")["total"] == 0
    customer = _search(client, team["sue"], q="话费", role="customer")["items"]
    assert [(h["role"], h["start"]) for h in customer] == [("customer", 3.5)]
    both = _search(client, team["sue"], q="话费")["items"]  # the customer asks, the agent answers
    assert [(h["role"], h["start"]) for h in both] == [("customer", 3.5), ("agent", 12.0)]
    assert [h["start"] for h in _search(client, team["sue"], q="感谢您的耐心等待")["items"]] == [12.0]
    assert [h["start"] for h in _search(client, team["sue"], q="感谢您")["items"]] == [12.0, 17.0]
    assert _search(client, team["sue"], q="谢")["total"] == 3  # one character: 谢谢, and 感谢 twice
    assert _search(client, team["sue"], q="稍后")["total"] == 0
    assert _search(client, team["sue"], q="  感谢  您的 ")["total"] == 0  # white space is kept (one space)


def test_english_words_and_phrases_ignore_case(client: TestClient, team: dict[str, dict[str, str]]) -> None:
    response = client.post("/api/v1/calls", json={**EN_TRANSCRIPT, "agent": "alice"}, headers=team["sue"])
    assert response.status_code == 201, response.text
    assert [h["start"] for h in _search(client, team["sue"], q="HOLD ON a moment")["items"]] == [6.5]
    assert [h["start"] for h in _search(client, team["sue"], q="help you", role="agent")["items"]] == [0.0, 12.0]
    assert _search(client, team["sue"], q="goodbye")["total"] == 1
    assert _search(client, team["sue"], q="Hi")["total"] == 0  # not inside "wHIle", "anytHIng"
    assert _search(client, team["sue"], q="hold off")["total"] == 0


WORDS_TRANSCRIPT: dict[str, Any] = {
    "call_id": "en-words", "language": "en",
    "utterances": [
        {"role": "agent", "start": 0.0, "end": 2.0, "text": "Hi, thanks for calling."},
        {"role": "customer", "start": 2.5, "end": 5.0, "text": 'My son said "HI" to your robot and it hung up.'},
        {"role": "agent", "start": 5.5, "end": 8.0, "text": "Please hold on while I check the location of your cat."},
        {"role": "customer", "start": 8.5, "end": 11.0, "text": "Refunds, please: the catalogue price was wrong."},
        {"role": "agent", "start": 11.5, "end": 14.0, "text": "您好，您的account已经开通VIP了，请稍等一下。"},
    ],
}


def _starts(client: TestClient, headers: dict[str, str], **params: Any) -> list[float]:
    return [h["start"] for h in _search(client, headers, **params)["items"]]


def test_english_matches_at_word_starts(client: TestClient, team: dict[str, dict[str, str]]) -> None:
    """The issue: ``hi`` found ``while`` and ``cat`` found ``location``. A query word matches where a word starts
    (any case, punctuation around it), and may end inside the word: ``refund`` finds ``Refunds``."""
    response = client.post("/api/v1/calls", json={**WORDS_TRANSCRIPT, "agent": "alice"}, headers=team["sue"])
    assert response.status_code == 201, response.text
    sue = team["sue"]
    assert _starts(client, sue, q="hi") == [0.0, 2.5]  # "Hi," and '"HI"', not "wHIle"
    assert _starts(client, sue, q="HI,") == [0.0]
    assert _starts(client, sue, q='"hi"') == [2.5]
    assert _starts(client, sue, q="cat") == [5.5, 8.5]  # "cat." and "catalogue" (a prefix), not "loCATion"
    assert _starts(client, sue, q="cation") == []
    assert _starts(client, sue, q="refund") == [8.5]
    assert _starts(client, sue, q="funds") == []
    assert _starts(client, sue, q="on") == [5.5]  # "hold on"; not "son", "location", "account"
    assert _starts(client, sue, q="hold on while") == [5.5]  # a phrase: words in this order
    assert _starts(client, sue, q="old on") == []
    assert _starts(client, sue, q="thanks   FOR") == [0.0]
    assert _starts(client, sue, q="hi", role="customer") == [2.5]  # the role filter as before
    assert _starts(client, sue, q="hi", role="agent") == [0.0]


def test_chinese_matches_anywhere_and_mixed_text_by_words(client: TestClient,
                                                          team: dict[str, dict[str, str]]) -> None:
    """Chinese has no spaces between words: any substring matches. An English word inside Chinese text starts
    where the Chinese stops (``的account``), so it is found by its start, not by its middle."""
    response = client.post("/api/v1/calls", json={**WORDS_TRANSCRIPT, "agent": "alice"}, headers=team["sue"])
    assert response.status_code == 201, response.text
    sue = team["sue"]
    for query in ("稍等", "请稍等一下", "等", "account", "ACC", "vip", "您的account", "account已经开通VIP了"):
        assert _starts(client, sue, q=query) == [11.5], query
    for query in ("count", "ip", "ccount已经"):
        assert _starts(client, sue, q=query) == [], query


def test_wildcards_and_query_syntax_are_taken_literally(client: TestClient, team: dict[str, dict[str, str]]) -> None:
    response = client.post("/api/v1/calls", json={**EN_TRANSCRIPT, "agent": "alice"}, headers=team["sue"])
    assert response.status_code == 201, response.text
    assert [h["start"] for h in _search(client, team["sue"], q="%_")["items"]] == [3.5]
    assert [h["start"] for h in _search(client, team["sue"], q="100%_extra")["items"]] == [3.5]
    for literal in ("%", "_", "%%", "__", "1_0", "10%e", "\\", '"', '""', "'", "*", "bill*", "hold OR bill",
                    "NEAR(hold bill)", "text:hold", "hold -on", "^Please", '"hold on"', "a\\%", "%' OR 1=1 --"):
        body = _search(client, team["sue"], q=literal)
        expected = sum(literal in u["text"] or literal.lower() in u["text"].lower()
                       for u in EN_TRANSCRIPT["utterances"])
        assert body["total"] == expected, literal


def test_numbers_are_searched_as_masked(client: TestClient, team: dict[str, dict[str, str]],
                                        upload: Callable[..., str]) -> None:
    upload(team["sue"], agent="alice")
    for number in ("13812345678", "1381234", "5678", "138"):
        assert _search(client, team["sue"], q=number)["total"] == 0, number
    masked = _search(client, team["sue"], q="号码是")["items"]
    assert len(masked) == 2 and all("*" in h["text"] and "5678" not in h["text"] for h in masked)


def test_filters_and_pages(client: TestClient, team: dict[str, dict[str, str]], upload: Callable[..., str]) -> None:
    old = upload(team["sue"], agent="alice", call_id="old", started_at="2026-11-01T10:00:00Z")
    new = upload(team["sue"], agent="bob", call_id="new", started_at="2026-12-01T10:00:00Z")
    other = upload(team["root"], agent="carol", call_id="other", started_at="2026-12-02T10:00:00Z")
    everything = _search(client, team["root"], q="您")
    assert everything["total"] == 3 * 4  # 您 is in four utterances of each call
    assert [h["id"] for h in everything["items"][::4]] == [other, new, old]  # newest call first, then by time
    assert {h["id"] for h in _search(client, team["sue"], q="您", limit=200)["items"]} == {old, new}
    assert {h["id"] for h in _search(client, team["root"], q="您", team="t2")["items"]} == {other}
    assert {h["id"] for h in _search(client, team["sue"], q="您", agent="bob")["items"]} == {new}
    assert {h["id"] for h in _search(client, team["sue"], q="稍等", **{"from": "2026-11-15"})["items"]} == {new}
    assert {h["id"] for h in _search(client, team["sue"], q="稍等", to="2026-11-15")["items"]} == {old}
    page = _search(client, team["root"], q="您", limit=4, offset=9)
    assert (page["total"], len(page["items"]), page["limit"], page["offset"]) == (12, 3, 4, 9)
    assert page["items"] == everything["items"][9:]
    assert _search(client, team["root"], q="您", offset=50) == {"items": [], "total": 12, "limit": 20, "offset": 50}
    assert _search(client, team["alice"], q="您", agent="bob")["total"] == 0  # an agent's scope stays their own


BAD_PARAMETERS: list[tuple[dict[str, Any], str]] = [
    ({}, "q"), ({"q": ""}, "q"), ({"q": "   "}, "q"), ({"q": "x" * 201}, "q"), ({"q": "a\x00b"}, "q"),
    ({"q": "稍等", "role": "boss"}, "role"), ({"q": "稍等", "from": "yesterday"}, "from"),
    ({"q": "稍等", "from": "2026-12-02", "to": "2026-12-01"}, "from"), ({"q": "稍等", "limit": 0}, "limit"),
    ({"q": "稍等", "limit": 201}, "limit"), ({"q": "稍等", "offset": -1}, "offset"),
]


def test_bad_parameters_answer_422_naming_them(client: TestClient, team: dict[str, dict[str, str]]) -> None:
    for params, named in BAD_PARAMETERS:
        response = client.get("/api/v1/search", params=params, headers=team["sue"])
        assert response.status_code == 422, (params, response.text)
        assert named in str(response.json()["detail"]), params


def test_needs_a_signed_in_user(client: TestClient) -> None:
    assert client.get("/api/v1/search", params={"q": "稍等"}).status_code == 401


def test_rescore_replaces_and_delete_drops_the_rows(client: TestClient, team: dict[str, dict[str, str]],
                                                    upload: Callable[..., str]) -> None:
    call_pk = upload(team["sue"], agent="alice")
    changed = copy.deepcopy(ZH_TRANSCRIPT)
    changed["utterances"][2]["text"] = "好的，麻烦您稍候片刻。"
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        call = session.get(Call, call_pk)
        assert call is not None
        store_report(session, call, library_report(changed))  # what a rescore does
        session.commit()
    assert _search(client, team["sue"], q="稍等")["total"] == 0
    assert [h["start"] for h in _search(client, team["sue"], q="稍候片刻")["items"]] == [6.5]
    assert _search(client, team["sue"], q="您")["total"] == 4  # replaced, not added to
    assert client.delete(f"/api/v1/calls/{call_pk}", headers=team["root"]).status_code == 204
    assert _search(client, team["root"], q="稍候片刻")["total"] == 0
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        assert session.scalar(select(func.count()).select_from(SearchUtterance)) == 0
        if session.get_bind().dialect.name == "sqlite":  # the FTS5 index follows the cascade (triggers)
            assert session.scalar(text("SELECT count(*) FROM search_utterances_fts WHERE search_utterances_fts "
                                       "MATCH '\"稍候片\"'")) == 0


def test_migration_indexes_calls_scored_before_it(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine, "0004")
        report = library_report(ZH_TRANSCRIPT)
        calls = legacy_calls_table()
        with engine.begin() as conn:  # a call as the service stored it before revision 0005
            conn.execute(calls.insert().values(id="c" * 32, call_id="zh-001", agent="alice", team="t1",
                                               status="done", source="transcript", created_at=func.now(),
                                               report=report_to_dict(report)))
        upgrade(engine)
        with make_session_factory(engine)() as session:
            sue, _key = create_user(session, "sue", "supervisor", "t1")
            page = search_calls(session, sue, SearchQuery(text="稍等", role="agent"))
            assert [(h.id, h.start) for h in page.items] == [("c" * 32, 6.5)]
            assert search_calls(session, sue, SearchQuery(text="感谢您的耐心")).total == 1
    finally:
        engine.dispose()


def _index_names(engine: Engine) -> set[str]:
    """The n-gram index of each database: FTS5's column on SQLite, the GIN index's name on PostgreSQL."""
    inspector = inspect(engine)
    if engine.dialect.name == "sqlite":
        return {c["name"] for c in inspector.get_columns("search_utterances_fts")}
    return {str(i["name"]) for i in inspector.get_indexes("search_utterances") if "trgm" in str(i["name"])}


def test_migration_0012_marks_the_words_of_rows_indexed_before_it(empty_db_url: str) -> None:
    """Rows indexed by 0005 get their match form in 0012 (English found by word start, Chinese anywhere, on the
    FTS5 and the LIKE path); downgrading puts the n-gram index back on ``text``, and upgrading again works."""
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine, "0004")
        with engine.begin() as conn:
            conn.execute(legacy_calls_table().insert().values(
                id="d" * 32, call_id="en-words", agent="alice", team="t1", status="done", source="transcript",
                created_at=func.now(), report={"utterances": WORDS_TRANSCRIPT["utterances"]}))
        upgrade(engine, "0011")
        upgrade(engine)
        with make_session_factory(engine)() as session:
            sue, _key = create_user(session, "sue", "supervisor", "t1")
            for query, starts in (("hi", [0.0, 2.5]), ("location", [5.5]), ("稍等", [11.5]), ("请稍等一下", [11.5])):
                assert [h.start for h in search_calls(session, sue, SearchQuery(text=query)).items] == starts, query
        assert _index_names(engine) == ({"match_text"} if engine.dialect.name == "sqlite"
                                        else {"ix_search_utterances_match_text_trgm"})
        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0011")
        assert "match_text" not in {c["name"] for c in inspect(engine).get_columns("search_utterances")}
        assert _index_names(engine) == ({"text"} if engine.dialect.name == "sqlite"
                                        else {"ix_search_utterances_text_trgm"})
        upgrade(engine)
        with make_session_factory(engine)() as session:
            sue = session.scalars(select(User).where(User.name == "sue")).one()
            assert [h.start for h in search_calls(session, sue, SearchQuery(text="hi")).items] == [0.0, 2.5]
    finally:
        engine.dispose()
