"""Two identical uploads at the same instant (a double click, a client retrying) store one call, on both databases:
the later one answers with the earlier one's call, as ``existing`` (``200 "duplicate": true``), as it would a moment
later. Both sides run the real upload, interleaved by :func:`.races.race_to_commit`: the first commits only once
the second has looked for a twin among the calls (or is about to take the lock that guards that look). And a
database that already holds such duplicates migrates to the lock as it is.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import column, func, select, table
from sqlalchemy.orm import Session

from qa_engine.app.call_uploads import Accepted, accept_recording, create_transcript_call
from qa_engine.app.database import make_engine, make_session_factory
from qa_engine.app.dedupe import find_twin, hold_content
from qa_engine.app.migrate import upgrade
from qa_engine.app.models import Call, ContentLock, Job, User

from .conftest import ZH_TRANSCRIPT
from .races import race_to_commit, session_factory

Headers = dict[str, str]
AUDIO = Path(__file__).parents[1] / "data" / "call_zh_stereo.flac"
CALL: dict[str, Any] = {**ZH_TRANSCRIPT, "agent": "alice", "started_at": "2025-02-03T10:00:00+08:00"}
FIELDS = {"agent": "alice", "agent_channel": "0", "language": "zh", "started_at": "2025-02-03T10:00:00+08:00",
          "call_id": "zh-audio-1"}
#: what an upload touches first once it has the content: the calls (looking for a twin) or the lock guarding them
GUARDED = ("calls", "content_locks")


def _sue(session: Session) -> User:
    sue = session.scalar(select(User).where(User.name == "sue"))
    assert sue is not None
    return sue


def _transcript_upload(client: TestClient) -> Callable[[Session], Accepted]:
    """sue's ``POST /calls`` of :data:`CALL`, in a given session."""
    state = client.app.state  # type: ignore[attr-defined]
    return lambda session: create_transcript_call(session, _sue(session), state.pack_cache, state.settings, CALL)


def _audio_upload(client: TestClient) -> Callable[[Session], Accepted]:
    """sue's multipart ``POST /calls`` of the test recording with :data:`FIELDS`, in a given session."""
    state = client.app.state  # type: ignore[attr-defined]
    data = AUDIO.read_bytes()
    return lambda session: accept_recording(session, _sue(session), state.pack_cache, state.settings, FIELDS,
                                            io.BytesIO(data), "call_zh_stereo.flac")


def _count(client: TestClient, model: type[Any]) -> int:
    with session_factory(client)() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_the_same_transcript_twice_at_once_is_stored_once(client: TestClient, team: dict[str, Headers]) -> None:
    upload = _transcript_upload(client)

    first, second = race_to_commit(session_factory(client), GUARDED, upload, upload)

    assert first.outcome == "scored" and first.status == "done"
    assert second == Accepted(first.call_id, "done", "existing")
    assert _count(client, Call) == 1
    later = client.post("/api/v1/calls", json=CALL, headers=team["sue"])
    assert later.status_code == 200 and later.json() == {"id": first.call_id, "status": "done", "duplicate": True}


def test_the_same_recording_twice_at_once_is_stored_and_queued_once(client: TestClient,
                                                                    team: dict[str, Headers]) -> None:
    upload = _audio_upload(client)

    first, second = race_to_commit(session_factory(client), GUARDED, upload, upload)

    assert first == Accepted(first.call_id, "queued", "queued")
    assert second == Accepted(first.call_id, "queued", "existing")
    assert _count(client, Call) == 1 and _count(client, Job) == 1
    data_dir: Path = client.app.state.settings.data_dir  # type: ignore[attr-defined]
    assert len([p for p in (data_dir / "audio").rglob("*") if p.is_file()]) == 1  # the second copy is not kept


def test_a_database_holding_duplicate_calls_migrates_and_they_are_still_found(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine, "0013")
        calls = table("calls", *(column(name) for name in ("id", "call_id", "agent", "team", "status", "source",
                                                           "created_at", "content_hash", "pack", "pack_version")))
        with engine.begin() as conn:  # the same call stored twice by two uploads at once, before the lock
            for call_pk in ("a" * 32, "b" * 32):
                conn.execute(calls.insert().values(id=call_pk, call_id="zh-001", agent="alice", team="t1",
                                                   status="done", source="transcript", created_at=func.now(),
                                                   content_hash="c" * 64, pack="zh-CN", pack_version="1"))
        upgrade(engine)
        with make_session_factory(engine)() as session:
            hold_content(session, "c" * 64)
            twin = find_twin(session, content_hash="c" * 64, pack="zh-CN", pack_version="1", agent_channel=None)
            session.commit()
            assert twin is not None and twin.id in ("a" * 32, "b" * 32)
            assert session.scalars(select(ContentLock.content_hash)).all() == ["c" * 64]
            assert session.scalar(select(func.count()).select_from(Call)) == 2
    finally:
        engine.dispose()
