"""Authorization invariants: a call's team is its agent's (never the uploader's say), agent uploads are a setting
(default: off), only supervisors and admins pause or resume live audio."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from qa_engine.app.settings import Settings
from qa_engine.app.users import create_user

from .conftest import ZH_TRANSCRIPT

Headers = dict[str, str]
API = "/api/v1"


@pytest.fixture()
def people(make_user: Callable[..., Headers]) -> dict[str, Headers]:
    return {"alice": make_user("alice", "agent", "t1"), "sue": make_user("sue", "supervisor", "t1"),
            "tom": make_user("tom", "supervisor", "t2"), "root": make_user("root", "admin"),
            "nomad": make_user("nomad", "agent")}


def _post(client: TestClient, headers: Headers, **extra: Any) -> Any:
    return client.post(f"{API}/calls", json={**ZH_TRANSCRIPT, **extra}, headers=headers)


def _visible(client: TestClient, headers: Headers, call_id: str) -> bool:
    return client.get(f"{API}/calls/{call_id}", headers=headers).status_code == 200


def test_an_agents_call_is_always_their_teams(client: TestClient, people: dict[str, Headers]) -> None:
    alice, sue, tom, root = people["alice"], people["sue"], people["tom"], people["root"]
    # an agent naming another team is refused (it would hide the call from sue and show it to tom)
    moved = _post(client, alice, team="t2")
    assert moved.status_code == 422 and "'t1'" in moved.json()["detail"], moved.text
    # so is an admin (or supervisor) whose 'team' contradicts the agent's record
    assert _post(client, root, agent="alice", team="t2").status_code == 422
    assert _post(client, sue, agent="alice", team="t2").status_code == 422
    for i, (headers, extra) in enumerate(((alice, {}), (alice, {"team": "t1"}), (root, {"agent": "alice"}),
                                          (sue, {"agent": "alice"}))):
        created = _post(client, headers, call_id=f"authz-{i}", **extra)  # another call each (not a re-upload)
        assert created.status_code == 201, created.text
        call_id = created.json()["id"]
        body = client.get(f"{API}/calls/{call_id}", headers=root).json()
        assert body["team"] == "t1"
        assert _visible(client, sue, call_id) and not _visible(client, tom, call_id)
    # an agent without a team on record: the uploader's team is used
    free = _post(client, root, agent="nomad", team="t2")
    assert free.status_code == 201 and client.get(f"{API}/calls/{free.json()['id']}", headers=root).json()["team"] \
        == "t2"


def test_agent_uploads_are_off_by_default(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", workers=0, agent_uploads=False)
    assert Settings.model_fields["agent_uploads"].default is False
    with TestClient(create_app(settings)) as client:
        with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
            _, alice = create_user(session, "alice", "agent", "t1")
            _, sue = create_user(session, "sue", "supervisor", "t1")
        refused = _post(client, {"Authorization": f"Bearer {alice}"})
        assert refused.status_code == 403 and "QA_ENGINE_AGENT_UPLOADS" in refused.json()["detail"]
        files = {"file": ("call.wav", b"RIFF0000WAVE", "audio/wav")}
        assert client.post(f"{API}/calls", files=files, headers={"Authorization": f"Bearer {alice}"}).status_code \
            == 403
        assert _post(client, {"Authorization": f"Bearer {sue}"}, agent="alice").status_code == 201
