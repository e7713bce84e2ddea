"""A transcript uploaded again is scored once, like a recording: the same content with the same pack version is
that call (200) when it is the same call the uploader can see, else a new call carrying a copy of its report (201),
both with ``"duplicate": true``. Another pack, another version or one character more is a new, scored call.
On SQLite and PostgreSQL.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from qa_engine.app.models import Call, FindingRow

from ..one_rule_pack import one_rule_pack
from .conftest import ZH_TRANSCRIPT

Headers = dict[str, str]
CALL: dict[str, Any] = {**ZH_TRANSCRIPT, "agent": "alice", "started_at": "2025-02-03T10:00:00+08:00"}
ALT_PACK = one_rule_pack("zh-alt")


def _post(client: TestClient, headers: Headers, body: dict[str, Any]) -> Any:
    return client.post("/api/v1/calls", json=body, headers=headers)


def _calls(client: TestClient) -> int:
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        return int(session.scalar(select(func.count()).select_from(Call)) or 0)


def _findings(client: TestClient, call_pk: str) -> list[tuple[str, str]]:
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        rows = session.scalars(select(FindingRow).where(FindingRow.call_pk == call_pk)).all()
        return sorted((row.rule_id, row.status) for row in rows)


def test_the_same_transcript_again_is_that_call(client: TestClient, team: dict[str, Headers]) -> None:
    first = _post(client, team["sue"], CALL)
    assert first.status_code == 201 and first.json()["duplicate"] is False, first.text
    again = _post(client, team["sue"], CALL)
    assert again.status_code == 200, again.text
    assert again.json() == {"id": first.json()["id"], "status": "done", "duplicate": True}
    reordered = json.dumps(dict(reversed(list(CALL.items()))), ensure_ascii=False, indent=2)  # same content
    as_text = client.post("/api/v1/calls", content=reordered.encode("utf-8"),
                          headers={**team["sue"], "Content-Type": "application/json"})
    assert as_text.status_code == 200 and as_text.json()["id"] == first.json()["id"], as_text.text
    assert _calls(client) == 1


def test_the_same_transcript_as_another_call_gets_a_copy_of_the_report(client: TestClient,
                                                                         team: dict[str, Headers]) -> None:
    first = _post(client, team["sue"], CALL).json()["id"]
    original = client.get(f"/api/v1/calls/{first}", headers=team["sue"]).json()
    for change in ({"agent": "bob"}, {"started_at": "2025-02-04T10:00:00+08:00"}, {"call_id": "zh-001-fixed"}):
        other = _post(client, team["sue"], {**CALL, **change})
        assert other.status_code == 201 and other.json()["duplicate"] is True, other.text
        assert other.json()["status"] == "done" and other.json()["id"] != first
        call = client.get(f"/api/v1/calls/{other.json()['id']}", headers=team["sue"]).json()
        assert call["agent"] == change.get("agent", "alice") and call["call_id"] == change.get("call_id", "zh-001")
        assert call["score"] == original["score"] and call["grade"] == original["grade"]
        assert call["report"]["call_id"] == call["call_id"]
        assert call["report"]["findings"] == original["report"]["findings"]
        assert _findings(client, other.json()["id"]) == _findings(client, first)
    assert _calls(client) == 4


def test_a_twin_the_uploader_cannot_see_is_copied_not_shown(client: TestClient, team: dict[str, Headers],
                                                             make_user: Callable[..., Headers]) -> None:
    make_user("carol", "agent", "t2")
    first = _post(client, team["sue"], CALL).json()["id"]
    theirs = _post(client, team["tom"], {**CALL, "agent": "carol"})
    assert theirs.status_code == 201 and theirs.json()["duplicate"] is True, theirs.text
    assert theirs.json()["id"] != first
    assert client.get(f"/api/v1/calls/{first}", headers=team["tom"]).status_code == 404
    mine = client.get(f"/api/v1/calls/{theirs.json()['id']}", headers=team["tom"]).json()
    assert mine["agent"] == "carol" and mine["team"] == "t2" and mine["status"] == "done"


def test_another_pack_or_one_character_more_is_scored_anew(client: TestClient, team: dict[str, Headers]) -> None:
    first = _post(client, team["sue"], CALL)
    assert client.post("/api/v1/packs", content=ALT_PACK.encode("utf-8"),
                       headers={**team["root"], "Content-Type": "application/yaml"}).status_code == 201
    other_pack = _post(client, team["sue"], {**CALL, "pack": "zh-alt"})
    assert other_pack.status_code == 201 and other_pack.json()["duplicate"] is False, other_pack.text
    assert client.get(f"/api/v1/calls/{other_pack.json()['id']}", headers=team["sue"]).json()["pack"] == "zh-alt"
    edited = copy.deepcopy(CALL)
    edited["utterances"][0]["text"] += "!"
    one_more = _post(client, team["sue"], edited)
    assert one_more.status_code == 201 and one_more.json()["duplicate"] is False, one_more.text
    assert len({first.json()["id"], other_pack.json()["id"], one_more.json()["id"]}) == 3
    assert _calls(client) == 3


def test_identical_uploads_at_once_store_one_call_the_others_are_duplicates_of_it(
        client: TestClient, team: dict[str, Headers]) -> None:
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: _post(client, team["sue"], CALL), range(4)))
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201], [a.text for a in answers]
    (stored,) = {a.json()["id"] for a in answers}
    assert [a.json()["duplicate"] for a in answers if a.status_code == 200] == [True] * 3
    assert _calls(client) == 1
    later = _post(client, team["sue"], CALL)
    assert later.status_code == 200 and later.json() == {"id": stored, "status": "done", "duplicate": True}
