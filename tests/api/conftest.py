"""Service fixtures: a real database (SQLite in tmp_path, and PostgreSQL), a TestClient, users with API keys.

Every test that uses ``settings`` (hence ``client``, ``make_user``, ``upload``) runs twice: ``[sqlite]`` and
``[postgresql]``. The PostgreSQL variant needs ``QA_ENGINE_TEST_PG_URL`` (a server URL whose user may create
databases; ``bash scripts/test.sh`` starts a private server and sets it) and is skipped without it. Each PostgreSQL
test gets a fresh database cloned from a template migrated once per session, dropped afterwards.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import JSON, Connection, TableClause, column, table, text
from sqlalchemy.engine import make_url

from api.main import create_app
from qa_engine.app.database import make_engine
from qa_engine.app.migrate import upgrade
from qa_engine.app.settings import Settings
from qa_engine.app.users import create_user

#: A call that passes the zh pack (shared with the UI tests and the API benchmark).
GOOD_ZH = Path(__file__).parents[1] / "data" / "transcript_zh_good.json"
ZH_TRANSCRIPT: dict[str, Any] = {"call_id": "zh-001", **json.loads(GOOD_ZH.read_text("utf-8"))}


PG_URL_VAR = "QA_ENGINE_TEST_PG_URL"
BACKENDS = ("sqlite", "postgresql")


class PostgresDatabases:
    """Creates one database per test on the server behind ``admin_url``, cloned from a migrated template."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.engine = make_engine(admin_url)
        self.prefix = f"qa_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.template = f"{self.prefix}_tmpl"
        self._ddl(f'CREATE DATABASE "{self.template}"')
        template_engine = make_engine(self.url(self.template))
        try:
            upgrade(template_engine)
        finally:
            template_engine.dispose()  # CREATE DATABASE ... TEMPLATE needs the template without connections

    def url(self, database: str) -> str:
        return make_url(self.admin_url).set(database=database).render_as_string(hide_password=False)

    def create(self, migrated: bool = True) -> str:
        """A fresh database (migrated, or empty); returns its URL."""
        name = f"{self.prefix}_{uuid.uuid4().hex[:10]}"
        self._ddl(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{self.template}"' if migrated else ""))
        return self.url(name)

    def drop(self, url: str) -> None:
        self._ddl(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')

    def close(self) -> None:
        self._ddl(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
        self.engine.dispose()

    def _ddl(self, statement: str) -> None:
        with self.engine.connect() as conn:
            autocommit: Connection = conn.execution_options(isolation_level="AUTOCOMMIT")
            autocommit.execute(text(statement))


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    """The PostgreSQL server of the test run; skips (with the reason) when none is configured."""
    admin_url = os.environ.get(PG_URL_VAR)
    if not admin_url:
        pytest.skip(f"PostgreSQL variant: {PG_URL_VAR} is not set (bash scripts/test.sh starts a private server "
                    "and sets it; or: eval \"$(bash scripts/postgres.sh start)\")")
    databases = PostgresDatabases(admin_url)
    yield databases
    databases.close()


def _fresh_database(request: pytest.FixtureRequest, sqlite_file: Path, *, migrated: bool) -> Iterator[str]:
    """The URL of a database for one test on ``request.param``'s backend; a PostgreSQL one is dropped after."""
    if request.param == "sqlite":
        yield f"sqlite:///{sqlite_file}"
        return
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    url = databases.create(migrated=migrated)
    yield url
    databases.drop(url)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for one test: an SQLite file in tmp_path, or a new PostgreSQL database."""
    yield from _fresh_database(request, tmp_path / "data" / "qa-engine.db", migrated=True)


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables (for migration tests): SQLite in tmp_path, or a new PostgreSQL database."""
    yield from _fresh_database(request, tmp_path / "old.db", migrated=False)


def legacy_calls_table() -> TableClause:
    """The ``calls`` columns every revision has (and its report): to insert a call as an older revision stored it,
    before a migration under test fills what it adds."""
    return table("calls", *(column(name) for name in ("id", "call_id", "agent", "team", "status", "source",
                                                       "created_at")), column("report", JSON))


@pytest.fixture()
def settings(tmp_path: Path, db_url: str) -> Settings:
    # no background job workers: tests that queue jobs drive the worker themselves (deterministic)
    return Settings(data_dir=tmp_path / "data", db_url=db_url, workers=0)


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


#: The usual cast: alice and bob (agents, t1), sue (supervisor, t1), tom (supervisor, t2), root (admin).
TEAM: tuple[tuple[str, str, str | None], ...] = (("alice", "agent", "t1"), ("bob", "agent", "t1"),
                                                 ("sue", "supervisor", "t1"), ("tom", "supervisor", "t2"),
                                                 ("root", "admin", None))


@pytest.fixture()
def team(make_user: Callable[..., dict[str, str]]) -> dict[str, dict[str, str]]:
    """:data:`TEAM`'s users by name, as Authorization headers (a module adds its own with ``make_user``)."""
    return {name: make_user(name, role, team_name) for name, role, team_name in TEAM}


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
