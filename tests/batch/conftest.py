"""Batch fixtures: a source folder of short real clips plus bad files, and a migrated SQLite database."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from qa_engine.app.database import make_engine, make_session_factory
from qa_engine.app.migrate import upgrade

CLIPS = Path(__file__).parent.parent / "data" / "clips"


def make_source(root: Path) -> Path:
    """Two good calls (with sidecar metadata), a text file named .wav and an empty .flac."""
    src = root / "src"
    (src / "day1").mkdir(parents=True)
    shutil.copy(CLIPS / "en_agent_greeting.flac", src / "en1.flac")
    (src / "en1.json").write_text(json.dumps({"agent": "alice", "team": "t1", "language": "en",
                                              "call_id": "EN-1", "started_at": "2026-11-22T09:00:00Z"}))
    shutil.copy(CLIPS / "zh_agent_greeting.flac", src / "day1" / "zh1.flac")
    (src / "day1" / "zh1.json").write_text(json.dumps({"agent": "bob", "team": "t2", "language": "zh"}))
    (src / "corrupt.wav").write_text("this is not a recording\n")
    (src / "empty.flac").write_bytes(b"")
    return src


@pytest.fixture()
def source(tmp_path: Path) -> Path:
    return make_source(tmp_path)


@pytest.fixture()
def sessions(tmp_path: Path) -> Any:
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'qa-engine.db'}")
    upgrade(engine)
    factory: sessionmaker[Session] = make_session_factory(engine)
    yield factory
    engine.dispose()
