"""Two draws of one sampling plan at once, on both databases (interleaved by :func:`.races.race`): the same call
is drawn once (no IntegrityError, one selection, one audit entry), and ``per_agent_min`` is not exceeded because
two of an agent's calls of one day were drawn at the same instant.

Each side runs the scoring hook (:func:`~qa_engine.app.review_queue.note_scored`), which draws a call for every plan
of its team: what two scorings of a call (or of two calls of one agent) at the same instant do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from qa_engine.app.models import AuditEntry, Call, ReviewItem, SamplingAgentDay, SamplingDraw, User
from qa_engine.app.review_queue import note_scored
from qa_engine.app.sampling import PlanSpec, create_plan

from .races import race, session_factory
from .zh_calls import BASE, NO_GREETING

Headers = dict[str, str]


def _plan(factory: sessionmaker[Session], percent: float, per_agent_min: int = 0) -> int:
    """A committed plan of team t1 that has drawn nothing yet (no back-fill): its id."""
    with factory() as session:
        sue = session.scalar(select(User).where(User.name == "sue"))
        assert sue is not None
        plan = create_plan(session, sue, PlanSpec(team="t1", percent=percent, per_agent_min=per_agent_min))
        session.commit()
        return plan.id


def _scored(call_pk: str) -> Callable[[Session], Any]:
    """The scoring hook for the call, as a scoring (or a rescoring) of it runs it."""

    def hook(session: Session) -> None:
        call = session.get(Call, call_pk)
        assert call is not None
        note_scored(session, call)

    return hook


def _selected(factory: sessionmaker[Session], plan_id: int) -> list[str]:
    with factory() as session:
        return list(session.scalars(select(SamplingDraw.call_pk).where(SamplingDraw.plan_id == plan_id,
                                                                       SamplingDraw.selected.is_(True))))


def test_one_call_drawn_twice_at_once_is_drawn_and_selected_once(
        client: TestClient, team: dict[str, Headers], upload: Callable[..., str]) -> None:
    factory = session_factory(client)
    call_pk = upload(team["sue"], agent="alice", **BASE)
    plan_id = _plan(factory, percent=100)

    race(factory, "sampling_draws", _scored(call_pk), _scored(call_pk))

    assert _selected(factory, plan_id) == [call_pk]
    with factory() as session:
        sampled = session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.action == "review_item.sampled", AuditEntry.call_pk == call_pk))
        item = session.get(ReviewItem, call_pk)
    assert sampled == 1
    assert item is not None and item.reasons == "sampled"


def test_two_calls_of_one_agent_and_day_drawn_at_once_select_per_agent_min_not_more(
        client: TestClient, team: dict[str, Headers], upload: Callable[..., str]) -> None:
    factory = session_factory(client)
    first, second = (upload(team["sue"], agent="alice", **doc) for doc in (BASE, NO_GREETING))
    plan_id = _plan(factory, percent=0, per_agent_min=1)

    # A commits as B is about to write its draw (or to take what guards the agent's day): B counted before that
    race(factory, "sampling_", _scored(first), _scored(second), reads=False)

    assert _selected(factory, plan_id) == [first]
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(SamplingDraw)
                              .where(SamplingDraw.plan_id == plan_id)) == 2  # both drawn, one selected
        assert session.scalar(select(func.count()).select_from(SamplingAgentDay)) == 1  # alice's day, shared
    assert client.delete(f"/api/v1/sampling-plans/{plan_id}", headers=team["sue"]).status_code == 204
    with factory() as session:  # the plan's locks on agents' days go with it
        assert session.scalar(select(func.count()).select_from(SamplingAgentDay)) == 0
