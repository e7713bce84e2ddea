"""Service commands as the installed console script, and the settings' refusal of unsafe defaults."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient

from api.main import create_app
from qa_engine.app.migrate import alembic_config
from qa_engine.app.settings import Settings, load_settings
from qa_engine.errors import QaEngineError

SCRIPT = Path(sys.executable).with_name("qa-engine")


def qa_engine(*args: str | Path) -> subprocess.CompletedProcess[str]:
    assert SCRIPT.exists(), f"console script not installed next to {sys.executable}"
    return subprocess.run([str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=60, check=False)


def test_users_create_prints_a_key_that_authenticates(tmp_path: Path) -> None:
    proc = qa_engine("users", "create", "alice", "--role", "agent", "--team", "t1", "--data-dir", tmp_path)
    assert proc.returncode == 0, proc.stderr
    key = proc.stdout.strip().splitlines()[-1]
    assert len(key) >= 40 and " " not in key
    again = qa_engine("users", "create", "alice", "--role", "agent", "--data-dir", tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr and "Traceback" not in again.stderr
    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        response = client.get("/api/v1/calls", headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200, response.text
        assert client.get("/api/v1/calls", headers={"Authorization": f"Bearer {key}x"}).status_code == 401
    stored = sqlite3.connect(tmp_path / "qa-engine.db").execute("SELECT api_key_hash FROM users").fetchone()[0]
    assert key not in stored  # only the digest is kept


def test_db_upgrade_creates_the_tables(tmp_path: Path) -> None:
    db = tmp_path / "elsewhere" / "qa.db"
    proc = qa_engine("db", "upgrade", "--db", f"sqlite:///{db}")
    assert proc.returncode == 0, proc.stderr
    conn = sqlite3.connect(db)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"users", "calls", "alembic_version"} <= tables
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == head
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert qa_engine("db", "upgrade", "--db", f"sqlite:///{db}").returncode == 0  # idempotent


def test_no_default_secret_and_a_short_one_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for mode in ("dev", "prod"):
        assert Settings(mode=mode, data_dir=tmp_path).secret_key is None  # no default: a key file is generated
        with pytest.raises(ValueError, match="too short"):
            Settings(mode=mode, secret_key="short", data_dir=tmp_path)
    secret = Settings(mode="prod", secret_key="x" * 40, data_dir=tmp_path).secret_key
    assert secret is not None and secret.get_secret_value() == "x" * 40 and "x" * 40 not in repr(secret)
    monkeypatch.setenv("QA_ENGINE_SECRET_KEY", "change-me-dev-only")
    with pytest.raises(QaEngineError, match="QA_ENGINE_SECRET_KEY is too short"):
        load_settings(tmp_path)
    proc = qa_engine("serve", "--data-dir", tmp_path, "--port", "0")  # env is inherited: refuses to start
    assert proc.returncode == 2 and "QA_ENGINE_SECRET_KEY is too short" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_library_imports_no_fastapi() -> None:
    code = "import sys, qa_engine.cli, qa_engine.pipeline; qa_engine.cli.build_parser(); " \
           "sys.exit(any(m.split('.')[0] in ('fastapi', 'api', 'sqlalchemy') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
