"""Two transactions create the same first-use row at once, on both databases: a call's review item (every reason
ends up in the one item) and a team's pack choice (the later choice wins, no 500).

The interleaving (:func:`.races.race`) is the one the service meets when a dispute, a scoring and a sampling plan's
back-fill touch one call at the same instant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from qa_engine.app.coaching import add_comment
from qa_engine.app.errors import NotFound
from qa_engine.app.models import AuditEntry, Call, CoachingComment, ReviewItem, TeamPack, User
from qa_engine.app.pack_admin import set_team_pack
from qa_engine.app.pack_cache import PackCache
from qa_engine.app.review_queue import add_reasons

from .races import holding_call, race, session_factory
from .zh_calls import BASE


def _new_call(client: TestClient, team: dict[str, dict[str, str]], upload: Callable[..., str]) -> str:
    """A scored call that is not in the queue (94.1, no failed critical rule, no sampling plan)."""
    call_pk = upload(team["sue"], agent="alice", **BASE)
    with session_factory(client)() as session:
        assert session.get(ReviewItem, call_pk) is None
    return call_pk


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
    factory = session_factory(client)
    call_pk = _new_call(client, team, upload)

    race(factory, "review_items", _queue(call_pk, ["dispute"], reopen=True), _queue(call_pk, ["low_score"]))

    item = _item(factory, call_pk)
    assert (item.reasons, item.state, item.done_by) == ("dispute,low_score", "open", None)


def test_two_new_reasons_on_a_done_item_at_once_are_both_kept_and_reopen_it(
        client: TestClient, team: dict[str, dict[str, str]], upload: Callable[..., str]) -> None:
    factory = session_factory(client)
    call_pk = _new_call(client, team, upload)
    with factory() as session:
        call = session.get(Call, call_pk)
        assert call is not None
        done = add_reasons(session, call, ["critical_fail"])
        assert done is not None
        done.state, done.done_by = "done", "sue"
        session.commit()

    race(factory, "review_items", _queue(call_pk, ["dispute"], reopen=True), _queue(call_pk, ["sampled"]))

    item = _item(factory, call_pk)
    assert (item.reasons, item.state, item.done_by) == ("dispute,critical_fail,sampled", "open", None)


def test_two_admins_setting_a_new_team_pack_at_once_both_succeed_the_later_wins(
        client: TestClient, team: dict[str, dict[str, str]]) -> None:
    factory = session_factory(client)
    pack_cache: PackCache = client.app.state.pack_cache  # type: ignore[attr-defined]

    def set_by_root(session: Session) -> None:
        root = session.scalar(select(User).where(User.name == "root"))
        assert root is not None
        set_team_pack(session, pack_cache, root, "t1", "zh-CN", "1.0.0")

    race(factory, "team_packs", lambda session: session.add(TeamPack(team="t1", pack_id="zh-CN", set_by="ann")),
          set_by_root)

    with factory() as session:
        choice = session.get(TeamPack, "t1")
        assert choice is not None and (choice.pack_id, choice.version, choice.set_by) == ("zh-CN", "1.0.0", "root")
        audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "team_pack.set"))
        assert audit is not None and audit.before == {"pack_id": "zh-CN", "version": None}  # ann's choice
    assert client.get("/api/v1/teams/t1/pack", headers=team["sue"]).json()["version"] == "1.0.0"


def test_a_reply_racing_the_delete_of_its_thread_is_a_404_not_a_reply_to_a_deleted_comment(
        client: TestClient, team: dict[str, dict[str, str]], upload: Callable[..., str]) -> None:
    factory = session_factory(client)
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
        race(factory, first=delete_thread, second=reply, **holding_call(factory, "coaching_comments"))
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(CoachingComment)
                              .where(CoachingComment.call_pk == call_pk)) == 0
