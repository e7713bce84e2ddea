"""Call-list export: the filters, sort and scope of GET /calls as CSV, masked, formula-safe, bounded and audited."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from qa_engine.app import call_export
from qa_engine.app.models import AuditEntry

from .zh_calls import BASE, COMPLAINT, FORBIDDEN

Headers = dict[str, str]
API = "/api/v1"


@pytest.fixture()
def team(team: dict[str, Headers], make_user: Callable[..., Headers]) -> dict[str, Headers]:
    """The usual cast (tests/api/conftest.py) and carol (agent, t2)."""
    return {**team, "carol": make_user("carol", "agent", "t2")}


def _rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(response.text.removeprefix("\ufeff"))))


def _export(client: TestClient, headers: Headers, **params: Any) -> Any:
    return client.get(f"{API}/calls/export", params={"format": "csv", **params}, headers=headers)


def test_export_matches_the_call_list_with_the_same_filters(client: TestClient, team: dict[str, Headers],
                                                            upload: Callable[..., str]) -> None:
    sue = team["sue"]
    upload(sue, agent="alice", **BASE, started_at="2026-11-02T09:00:00Z")
    upload(sue, agent="alice", **COMPLAINT, started_at="2026-11-03T09:00:00Z")
    upload(sue, agent="bob", **FORBIDDEN, started_at="2026-11-04T09:00:00Z")
    upload(team["root"], agent="carol", **BASE, started_at="2026-11-05T09:00:00Z")
    for params in ({}, {"agent": "alice"}, {"failed_rule": "apology_on_complaint"}, {"sort": "score"},
                   {"from": "2026-11-03", "to": "2026-11-04", "sort": "-started_at"}, {"min_score": 80}):
        listed = client.get(f"{API}/calls", params=params, headers=sue).json()
        rows = _rows(_export(client, sue, **params))
        assert [r["id"] for r in rows] == [c["id"] for c in listed["items"]], params
    rows = _rows(_export(client, sue, agent="alice", sort="started_at"))
    assert list(rows[0]) == call_export.COLUMNS
    complaint = rows[1]
    assert complaint["agent"] == "alice" and complaint["team"] == "t1" and complaint["status"] == "done"
    assert complaint["category"] == "投诉" and "apology_on_complaint" in complaint["failed_rules"].split(";")
    assert complaint["started_at"] == "2026-11-03T09:00:00+00:00" and float(complaint["score"]) > 0
    assert "transcript" not in rows[0] and "13812345678" not in _export(client, sue).text  # no transcript text


def test_export_is_scoped_like_the_call_list(client: TestClient, team: dict[str, Headers],
                                             upload: Callable[..., str]) -> None:
    upload(team["sue"], agent="alice", **BASE)
    upload(team["sue"], agent="bob", **BASE)
    upload(team["root"], agent="carol", **BASE)
    assert {r["agent"] for r in _rows(_export(client, team["alice"]))} == {"alice"}
    assert {r["agent"] for r in _rows(_export(client, team["sue"]))} == {"alice", "bob"}
    assert {r["agent"] for r in _rows(_export(client, team["tom"]))} == {"carol"}
    assert len(_rows(_export(client, team["root"]))) == 3
    assert _rows(_export(client, team["alice"], agent="bob")) == []
    assert client.get(f"{API}/calls/export").status_code == 401


def test_cells_are_masked_and_never_formulas(client: TestClient, team: dict[str, Headers],
                                             upload: Callable[..., str]) -> None:
    ids = {prefix: upload(team["sue"], agent="alice", **{**BASE, "call_id": f"{prefix}cmd|' /C calc'!A0"})
           for prefix in ("=", "+", "-", "@")}
    upload(team["sue"], agent="alice", **{**BASE, "call_id": "客户13812345678回访"})
    rows = {r["id"]: r for r in _rows(_export(client, team["sue"]))}
    for prefix, call in ids.items():
        assert rows[call]["call_id"] == f"'{prefix}cmd|' /C calc'!A0"
    text = _export(client, team["sue"]).text
    assert "13812345678" not in text and "客户***********回访" in text


def test_a_large_export_is_refused_or_paged_with_a_link(client: TestClient, team: dict[str, Headers],
                                                        upload: Callable[..., str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(call_export, "MAX_EXPORT_ROWS", 2)
    monkeypatch.setattr(call_export, "CHUNK_ROWS", 1)
    calls = [upload(team["sue"], agent="alice", **BASE, started_at=f"2026-11-0{day}T09:00:00Z") for day in (1, 2, 3)]
    refused = _export(client, team["sue"])
    assert refused.status_code == 422 and "3 calls" in refused.json()["detail"] and "limit" in refused.json()["detail"]
    first = _export(client, team["sue"], limit=2, sort="started_at", agent="alice")
    assert first.headers["x-total-count"] == "3"
    link = first.headers["link"]
    assert link.endswith('rel="next"') and "offset=2" in link and "agent=alice" in link
    url = link[link.index("<") + 1:link.index(">")]
    second = client.get(url, headers=team["sue"])
    assert "link" not in second.headers
    assert [r["id"] for r in _rows(first) + _rows(second)] == calls


def test_bad_export_parameters_answer_422(client: TestClient, team: dict[str, Headers],
                                          upload: Callable[..., str]) -> None:
    upload(team["sue"], agent="alice", **BASE)
    for params in ({"format": "xlsx"}, {"status": "bogus"}, {"sort": "id"}, {"from": "yesterday"},
                   {"limit": 0}, {"limit": call_export.MAX_EXPORT_ROWS + 1}, {"offset": -1},
                   {"min_score": 90, "max_score": 10}):
        response = client.get(f"{API}/calls/export", params=params, headers=team["sue"])
        assert response.status_code == 422, (params, response.text)


def test_each_export_is_audited(client: TestClient, team: dict[str, Headers], upload: Callable[..., str]) -> None:
    upload(team["sue"], agent="alice", **BASE)
    _rows(_export(client, team["sue"], agent="alice"))
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "calls.export"))
    assert entry is not None and entry.actor == "sue" and "1 of 1" in (entry.detail or "")
    assert "alice" in (entry.detail or "")
