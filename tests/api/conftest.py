"""Service fixtures: a real SQLite database in tmp_path, a TestClient, users with API keys."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from api.users import create_user

ZH_TRANSCRIPT: dict[str, Any] = {
    "call_id": "zh-001",
    "language": "zh",
    "utterances": [
        {"role": "agent", "start": 0.0, "end": 3.0, "text": "您好，很高兴为您服务，请问有什么可以帮您？"},
        {"role": "customer", "start": 3.5, "end": 6.0, "text": "我想查一下我的话费，号码是13812345678。"},
        {"role": "agent", "start": 6.5, "end": 9.0, "text": "好的，您的号码是13812345678对吗？请稍等。"},
        {"role": "agent", "start": 12.0, "end": 15.0,
         "text": "感谢您的耐心等待，您本月话费是八十元。还有什么可以帮您？"},
        {"role": "customer", "start": 15.5, "end": 16.5, "text": "没有了，谢谢。"},
        {"role": "agent", "start": 17.0, "end": 19.0, "text": "感谢您的来电，祝您生活愉快，再见。"},
    ],
}


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture()
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture()
def make_user(client: TestClient) -> Callable[..., dict[str, str]]:
    """Create a user in the app's database; returns the Authorization header for their key."""

    def make(name: str, role: str, team: str | None = None) -> dict[str, str]:
        with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
            _user, key = create_user(session, name, role, team)
        return {"Authorization": f"Bearer {key}"}

    return make


@pytest.fixture()
def upload(client: TestClient) -> Callable[..., str]:
    """POST a transcript as ``headers``' user (for ``agent``); returns the new call's id."""

    def post(headers: dict[str, str], agent: str | None = None, **extra: Any) -> str:
        body = {**ZH_TRANSCRIPT, **extra}
        if agent is not None:
            body["agent"] = agent
        response = client.post("/api/v1/calls", json=body, headers=headers)
        assert response.status_code == 201, response.text
        call_id: str = response.json()["id"]
        return call_id

    return post
