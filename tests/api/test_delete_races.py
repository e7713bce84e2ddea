"""Writes that reference a call racing an admin's delete of the call (DELETE /calls/{id}), on both databases
(interleaved by :func:`.races.race`): the request found the call, the delete commits, then the request writes.

Each is the 404 "call … no longer exists" a write after the delete gets (not an IntegrityError or a
StaleDataError, a 500), with its transaction rolled back: no row is left about the call, neither in a table with a
foreign key to it nor in the audit trail or the webhook deliveries (which have none).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qa_engine.app import coaching, evaluations, review_queue, reviews
from qa_engine.app.errors import NotFound
from qa_engine.app.evaluations import Answer, EvaluationInput
from qa_engine.app.events import EVENTS
from qa_engine.app.models import (
    AuditEntry,
    Call,
    CoachingComment,
    Evaluation,
    FindingRow,
    Review,
    ReviewItem,
    SamplingDraw,
    SearchUtterance,
    User,
    Webhook,
    WebhookDelivery,
)
from qa_engine.app.pack_cache import PackCache
from qa_engine.app.review_queue import create_sampling_plan
from qa_engine.app.sampling import PlanSpec

from .races import race, session_factory
from .zh_calls import BASE, FORBIDDEN

Headers = dict[str, str]
API = "/api/v1"
FORM: dict[str, Any] = {"team": "t1", "name": "质检表", "auto_weight": 0.5,
                        "items": [{"id": "attitude", "label": "服务态度", "weight": 1, "max": 2}]}
#: every table whose rows go with their call (ON DELETE CASCADE)
CALL_ROWS = (Evaluation, Review, CoachingComment, ReviewItem, SamplingDraw, FindingRow, SearchUtterance)


@dataclass
class Scene:
    """A scored call of alice's (t1; a failed critical rule, so it is in the review queue) and what was done to it."""

    client: TestClient
    team: dict[str, Headers]
    call_pk: str
    ids: dict[str, int]

    def user(self, session: Session, name: str) -> User:
        found = session.scalar(select(User).where(User.name == name))
        assert found is not None
        return found

    @property
    def pack_cache(self) -> PackCache:
        cache: PackCache = self.client.app.state.pack_cache  # type: ignore[attr-defined]
        return cache

    def post(self, path: str, name: str, **body: Any) -> dict[str, Any]:
        response = self.client.post(f"{API}{path}", json=body, headers=self.team[name])
        assert response.status_code in (200, 201), response.text
        answer: dict[str, Any] = response.json()
        return answer


def _evaluated(scene: Scene) -> None:
    scene.ids["evaluation"] = scene.post(f"/calls/{scene.call_pk}/evaluations", "sue",
                                         answers=[{"item": "attitude", "value": 2}])["id"]


def _disputed(scene: Scene) -> None:
    scene.ids["review"] = scene.post(f"/calls/{scene.call_pk}/findings/forbidden_phrases/dispute", "alice",
                                     comment="我没说")["review"]["id"]


def _commented(scene: Scene) -> None:
    scene.ids["comment"] = scene.post(f"/calls/{scene.call_pk}/comments", "sue", text="开场白再热情一点")["id"]


def _nothing(_scene: Scene) -> None:
    """No setup beyond the scored call."""


Write = Callable[[Session, Scene], Any]
#: name: (setup, the write, the table whose first read by the write lets the delete commit)
WRITES: dict[str, tuple[Callable[[Scene], None], Write, str]] = {
    "evaluation": (_nothing, lambda s, sc: evaluations.evaluate_call(
        s, sc.user(s, "sue"), sc.call_pk, EvaluationInput(answers=[Answer(item="attitude", value=1)])),
        "calls"),
    "evaluation release": (_evaluated, lambda s, sc: evaluations.release(s, sc.user(s, "sue"), sc.ids["evaluation"]),
                           "calls"),
    "override": (_nothing, lambda s, sc: reviews.override(s, sc.pack_cache, sc.user(s, "sue"), sc.call_pk,
                                                          "forbidden_phrases", "pass", "说法没问题"), "calls"),
    "dispute": (_nothing, lambda s, sc: reviews.dispute(s, sc.user(s, "alice"), sc.call_pk, "forbidden_phrases",
                                                        "我没说"), "calls"),
    "dispute decision": (_disputed, lambda s, sc: reviews.resolve(s, sc.pack_cache, sc.user(s, "sue"),
                                                                  sc.ids["review"], "同意", accept=True), "calls"),
    "coaching thread": (_nothing, lambda s, sc: coaching.add_comment(s, sc.user(s, "sue"), sc.call_pk, "语速放慢"),
                        "calls"),
    "coaching reply": (_commented, lambda s, sc: coaching.add_comment(s, sc.user(s, "alice"), sc.call_pk, "好的",
                                                                      parent_id=sc.ids["comment"]), "calls"),
    "coaching edit": (_commented, lambda s, sc: coaching.edit_comment(s, sc.user(s, "sue"), sc.call_pk,
                                                                      sc.ids["comment"], "语速再放慢"), "calls"),
    "coaching delete": (_commented, lambda s, sc: coaching.delete_comment(s, sc.user(s, "sue"), sc.call_pk,
                                                                          sc.ids["comment"]), "calls"),
    "queue assignment": (_nothing, lambda s, sc: review_queue.assign(s, sc.user(s, "sue"), sc.call_pk, "sue"),
                         "review_items"),
    "queue state": (_nothing, lambda s, sc: review_queue.change_state(s, sc.user(s, "sue"), sc.call_pk,
                                                                      "in_review"), "review_items"),
}


def _delete_call(call_pk: str) -> Callable[[Session], None]:
    def delete_call(session: Session) -> None:  # an admin's DELETE /calls/{id}, flushed, not committed yet
        call = session.get(Call, call_pk)
        assert call is not None
        session.delete(call)

    return delete_call


def _left_about(session: Session, call_pk: str) -> dict[str, int]:
    """How many rows of each table name the call (audit entries and webhook deliveries included)."""
    counts = {model.__tablename__: session.scalar(select(func.count()).select_from(model)
                                                  .where(model.call_pk == call_pk)) or 0
              for model in (*CALL_ROWS, AuditEntry, WebhookDelivery)}
    return {name: count for name, count in counts.items() if count}


@pytest.fixture()
def scene(client: TestClient, team: dict[str, Headers], upload: Callable[..., str]) -> Scene:
    """The scored call, t1's evaluation form, and a webhook subscribed to every event (its deliveries are rows)."""
    assert client.post(f"{API}/evaluation-forms", json=FORM, headers=team["root"]).status_code == 201
    call_pk = upload(team["sue"], agent="alice", **FORBIDDEN)
    with session_factory(client)() as session:
        session.add(Webhook(url="https://hooks.example.com/qa", events=list(EVENTS), secret="s" * 32,
                            created_by="root"))
        session.commit()
    return Scene(client, team, call_pk, {})


@pytest.mark.parametrize("write", list(WRITES))
def test_a_write_racing_the_delete_of_its_call_is_a_404_and_leaves_nothing(scene: Scene, write: str) -> None:
    setup, act, read_first = WRITES[write]
    setup(scene)
    factory = session_factory(scene.client)
    with factory() as session:
        audit_before = _left_about(session, scene.call_pk).get("audit_log", 0)
        deliveries_before = _left_about(session, scene.call_pk).get("webhook_deliveries", 0)

    # the request found the call (and its row in read_first) before the delete committed; it writes after
    with pytest.raises(NotFound, match=f"call {scene.call_pk!r} no longer exists"):
        race(factory, read_first, _delete_call(scene.call_pk), lambda session: act(session, scene))

    with factory() as session:
        assert session.get(Call, scene.call_pk) is None
        left = _left_about(session, scene.call_pk)
    assert left == {name: count for name, count in (("audit_log", audit_before),
                                                     ("webhook_deliveries", deliveries_before)) if count}


def test_a_sampling_plan_skips_a_call_deleted_while_it_draws(client: TestClient, team: dict[str, Headers],
                                                             upload: Callable[..., str]) -> None:
    factory = session_factory(client)
    if factory.kw["bind"].dialect.name == "sqlite":
        pytest.skip("SQLite: the plan's insert takes the write lock before the calls are read (no window)")
    kept, deleted = upload(team["sue"], agent="alice", **BASE), upload(team["sue"], agent="bob", **BASE)
    made: list[int] = []

    def create_plan(session: Session) -> None:  # every call drawn (100 %), the deleted one found before the delete
        root = session.scalar(select(User).where(User.name == "root"))
        assert root is not None
        _plan, selected = create_sampling_plan(session, root, PlanSpec(team="t1", percent=100.0))
        made.append(selected)

    race(factory, "sampling_draws", _delete_call(deleted), create_plan, reads=False)

    assert made == [1]
    with factory() as session:
        assert _left_about(session, deleted) == {}
        assert session.scalar(select(func.count()).select_from(SamplingDraw).where(SamplingDraw.call_pk == kept)) == 1
