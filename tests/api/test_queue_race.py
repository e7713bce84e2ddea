"""Two transactions create the same first-use row at once, on both databases: a call's review item (every reason
ends up in the one item) and a team's pack choice (the later choice wins, no 500).

Session A writes its change first and commits only once session B has read the table (or is about to write to it),
so B works from what it could see before A's commit: the interleaving the service meets when a dispute, a scoring
and a sampling plan's back-fill touch one call at the same instant. B runs in a thread because it waits for A: on
PostgreSQL for A's row, on SQLite for A's write lock (the app's engine, with its busy timeout, on the test file).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from qa_engine.app.coaching import add_comment
from qa_engine.app.errors import NotFound
from qa_engine.app.models import AuditEntry, Call, CoachingComment, ReviewItem, TeamPack, User
from qa_engine.app.pack_admin import set_team_pack
from qa_engine.app.pack_cache import PackCache
from qa_engine.app.review_queue import add_reasons

from .zh_calls import BASE

#: how long the test waits for a session before calling the interleaving broken (seconds)
PATIENCE = 30


class TableTouched:
    """Set once a connection has read ``table`` or is about to write to it or lock its rows (a lock waits for A)."""

    def __init__(self, connection: Connection, table: str) -> None:
        self.table = table
        self.event = threading.Event()
        event.listen(connection, "before_cursor_execute", self._before)
        event.listen(connection, "after_cursor_execute", self._after)

    def _before(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sql = statement.upper()
        if self.table.upper() in sql and (not sql.lstrip().startswith("SELECT") or "FOR UPDATE" in sql):
            self.event.set()

    def _after(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.table in statement:
            self.event.set()


def _new_call(client: TestClient, team: dict[str, dict[str, str]], upload: Callable[..., str]) -> str:
    """A scored call that is not in the queue (94.1, no failed critical rule, no sampling plan)."""
    call_pk = upload(team["sue"], agent="alice", **BASE)
    with _factory(client)() as session:
        assert session.get(ReviewItem, call_pk) is None
    return call_pk


def _factory(client: TestClient) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = client.app.state.session_factory  # type: ignore[attr-defined]
    return factory


def _race(factory: sessionmaker[Session], table: str, first: Callable[[Session], Any],
          second: Callable[[Session], Any]) -> None:
    """``first`` in session A (flushed), then ``second`` in session B from what B sees of ``table`` before A
    commits; both commit. Raises what B raised."""
    with factory() as session_a, factory() as session_b, ThreadPoolExecutor(1) as pool:
        touched = TableTouched(session_b.connection(), table)
        first(session_a)
        session_a.flush()

        def run_b() -> None:
            second(session_b)
            session_b.commit()

        outcome = pool.submit(run_b)
        try:
            assert touched.event.wait(PATIENCE), f"session B never reached {table}"
            session_a.commit()
        finally:
            session_a.close()  # on failure: releases A's locks so that B can finish
        outcome.result(timeout=PATIENCE)


def _queue(call_pk: str, reasons: list[str], *, reopen: bool = False) -> Callable[[Session], Any]:
    """Queue the call for ``reasons`` in a session, as the hooks of disputes (``reopen``) and scoring do."""

    def queue(session: Session) -> None:
        call = session.get(Call, call_pk)
        assert call is not None
        add_reasons(session, call, reasons, reopen=reopen)

    return queue


def _item(factory: sessionmaker[Session], call_pk: str) -> ReviewItem:
    with factory() as session:
        item = session.get(ReviewItem, call_pk)
    assert item is not None
    return item


def test_a_dispute_and_a_scoring_of_a_new_call_at_once_share_one_item(
        client: TestClient, team: dict[str, dict[str, str]], upload: Callable[..., str]) -> None:
    factory = _factory(client)
    call_pk = _new_call(client, team, upload)

    _race(factory, "review_items", _queue(call_pk, ["dispute"], reopen=True), _queue(call_pk, ["low_score"]))

    item = _item(factory, call_pk)
    assert (item.reasons, item.state, item.done_by) == ("dispute,low_score", "open", None)


def test_two_new_reasons_on_a_done_item_at_once_are_both_kept_and_reopen_it(
        client: TestClient, team: dict[str, dict[str, str]], upload: Callable[..., str]) -> None:
    factory = _factory(client)
    call_pk = _new_call(client, team, upload)
    with factory() as session:
        call = session.get(Call, call_pk)
        assert call is not None
        done = add_reasons(session, call, ["critical_fail"])
        assert done is not None
        done.state, done.done_by = "done", "sue"
        session.commit()

    _race(factory, "review_items", _queue(call_pk, ["dispute"], reopen=True), _queue(call_pk, ["sampled"]))

    item = _item(factory, call_pk)
    assert (item.reasons, item.state, item.done_by) == ("dispute,critical_fail,sampled", "open", None)


def test_two_admins_setting_a_new_team_pack_at_once_both_succeed_the_later_wins(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    factory = _factory(client)
    pack_cache: PackCache = client.app.state.pack_cache  # type: ignore[attr-defined]

    def set_by_root(session: Session) -> None:
        root = session.scalar(select(User).where(User.name == "root"))
        assert root is not None
        set_team_pack(session, pack_cache, root, "t1", "zh-CN", "1.0.0")

    _race(factory, "team_packs", lambda session: session.add(TeamPack(team="t1", pack_id="zh-CN", set_by="ann")),
          set_by_root)

    with factory() as session:
        choice = session.get(TeamPack, "t1")
        assert choice is not None and (choice.pack_id, choice.version, choice.set_by) == ("zh-CN", "1.0.0", "root")
        audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "team_pack.set"))
        assert audit is not None and audit.before == {"pack_id": "zh-CN", "version": None}  # ann's choice
    assert client.get("/api/v1/teams/t1/pack", headers=team["sue"]).json()["version"] == "1.0.0"


def test_a_reply_racing_the_delete_of_its_thread_is_a_404_not_a_reply_to_a_deleted_comment(
        client: TestClient, team: dict[str, dict[str, str]], upload: Callable[..., str]) -> None:
    factory = _factory(client)
    call_pk = upload(team["sue"], agent="alice", **BASE)
    answer = client.post(f"/api/v1/calls/{call_pk}/comments", json={"text": "开场白再热情一点"}, headers=team["sue"])
    root_id = answer.json()["id"]

    def delete_thread(session: Session) -> None:  # sue deletes her comment (no replies yet): the row goes
        root = session.get(CoachingComment, root_id, with_for_update=True)
        assert root is not None
        session.delete(root)

    def reply(session: Session) -> None:  # alice replies, having found the comment before the delete committed
        alice = session.scalar(select(User).where(User.name == "alice"))
        assert alice is not None
        add_comment(session, alice, call_pk, "好的，我注意", parent_id=root_id)

    with pytest.raises(NotFound, match=f"comment {root_id} not found"):
        _race(factory, "coaching_comments", delete_thread, reply)
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(CoachingComment)
                              .where(CoachingComment.call_pk == call_pk)) == 0
