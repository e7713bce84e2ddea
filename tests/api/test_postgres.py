"""Database URLs as users write them, and the service commands on a real PostgreSQL server.

The server comes from ``QA_ENGINE_TEST_PG_URL`` (``bash scripts/test.sh`` starts one); without it the tests that
need it are skipped by the ``postgres_databases`` fixture in conftest.py.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from api.main import create_app
from qa_engine.app.database import DatabaseUnavailableError, make_engine
from qa_engine.app.db_errors import DatabaseValueError
from qa_engine.app.migrate import alembic_config
from qa_engine.app.models import User
from qa_engine.app.settings import Settings, load_settings
from qa_engine.errors import QaEngineError

from .conftest import PostgresDatabases

SCRIPT = Path(sys.executable).with_name("qa-engine")


def qa_engine(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=60, check=False)


def plain(url: str) -> str:
    """``url`` as a user would copy it from psql or a cloud console: ``postgresql://`` without a driver."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.mark.parametrize(("given", "expected"), [
    ("postgresql://u:p%40ss@db:5432/qa?sslmode=require", "postgresql+psycopg://u:p%40ss@db:5432/qa?sslmode=require"),
    ("postgres://u@db/qa", "postgresql+psycopg://u@db/qa"),
    ("postgresql+psycopg://u@db/qa", "postgresql+psycopg://u@db/qa"),
    ("postgresql+psycopg2://u@db/qa", "postgresql+psycopg2://u@db/qa"),  # an explicit driver is kept
    ("sqlite:////srv/qa/qa-engine.db", "sqlite:////srv/qa/qa-engine.db"),
])
def test_plain_postgresql_urls_get_the_installed_driver(given: str, expected: str) -> None:
    assert Settings(db_url=given).database_url == expected


@pytest.mark.parametrize(("url", "message"), [
    ("mysql://u@db/qa", "unsupported database 'mysql'"),
    ("not a url", "not a URL"),
])
def test_bad_database_urls_are_refused_clearly(url: str, message: str) -> None:
    with pytest.raises(QaEngineError, match=message):
        load_settings(db_url=url)
    proc = qa_engine("db", "upgrade", "--db", url)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def test_unreachable_database_is_one_line_without_the_password(tmp_path: Path) -> None:
    url = "postgresql://qa:s3cret@127.0.0.1:1/qa"  # port 1: nothing listens there
    proc = qa_engine("db", "upgrade", "--db", url)
    assert proc.returncode == 2, proc.stderr
    assert "cannot connect to the database postgresql+psycopg://qa:***@127.0.0.1:1/qa" in proc.stderr
    assert "s3cret" not in proc.stderr and "Traceback" not in proc.stderr
    with pytest.raises(DatabaseUnavailableError, match="cannot connect"):
        create_app(Settings(data_dir=tmp_path, db_url=url))


def test_cli_migrates_and_serves_a_plain_postgresql_url(postgres_databases: PostgresDatabases,
                                                        tmp_path: Path) -> None:
    url = plain(postgres_databases.create(migrated=False))
    try:
        proc = qa_engine("db", "upgrade", "--db", url)
        assert proc.returncode == 0, proc.stderr
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
                tables = set(conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
                             .scalars())
        finally:
            engine.dispose()
        assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert {"users", "calls", "findings", "reviews", "jobs", "audit_log"} <= tables
        assert qa_engine("db", "upgrade", "--db", url).returncode == 0  # idempotent

        proc = qa_engine("users", "create", "root", "--role", "admin", "--db", url)
        assert proc.returncode == 0, proc.stderr
        key = proc.stdout.strip().splitlines()[-1]
        with TestClient(create_app(Settings(data_dir=tmp_path, db_url=url))) as client:
            assert client.app.state.db_engine.dialect.name == "postgresql"  # type: ignore[attr-defined]
            headers = {"Authorization": f"Bearer {key}"}
            assert client.get("/api/v1/calls", headers=headers).status_code == 200
    finally:
        postgres_databases.drop(url)


def test_each_postgresql_test_gets_its_own_empty_database(settings: Settings, client: TestClient) -> None:
    """Guards the fixture: a test never sees another test's rows (also true on SQLite)."""
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        assert session.execute(text("SELECT count(*) FROM users")).scalar_one() == 0
        assert session.execute(text("SELECT count(*) FROM calls")).scalar_one() == 0
    if settings.database_url.startswith("postgresql"):
        assert client.app.state.db_engine.dialect.name == "postgresql"  # type: ignore[attr-defined]


def test_values_a_column_cannot_hold_are_422_naming_the_field(settings: Settings, client: TestClient,
                                                              make_user: Callable[..., dict[str, str]]) -> None:
    """PostgreSQL refuses NUL in text (SQLite stores it): a 422 naming the field, never a 500."""
    admin = make_user("root", "admin")
    response = client.get("/api/v1/calls", params={"agent": "a\x00b"}, headers=admin)
    if settings.database_url.startswith("postgresql"):
        assert response.status_code == 422, response.text
        assert "agent: text cannot contain NUL" in response.text
    else:
        assert response.status_code == 200 and response.json()["items"] == []
    with client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        with pytest.raises(DatabaseValueError, match="id: number out of range"):
            session.get(User, 2**63)
