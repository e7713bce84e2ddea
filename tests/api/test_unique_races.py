"""Two transactions create the same uniquely keyed row at once, on both databases (interleaved by
:func:`.races.race`): a reviewer's calibration answer (one row, the later answer wins) and a user (one is created,
the other gets the "already exists" a sequential duplicate gets), never an IntegrityError (a 500 or a traceback).
A calibration answer racing the delete of its call is the 404 an answer after the delete gets, leaving no row.
And the helpers' own report of an insert, on both databases.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qa_engine.app.api_keys import generate_api_key, hash_api_key
from qa_engine.app.calibration import submit
from qa_engine.app.errors import NotFound
from qa_engine.app.evaluations import Answer, EvaluationInput, build_evaluation
from qa_engine.app.first_use import insert_unless_taken
from qa_engine.app.models import AuditEntry, Call, Evaluation, EvaluationForm, User
from qa_engine.app.users import create_user
from qa_engine.errors import QaEngineError

from .races import holding_call, race, session_factory
from .zh_calls import BASE

Headers = dict[str, str]
FORM: dict[str, Any] = {"team": "t1", "name": "校准表", "auto_weight": 0.5,
                        "items": [{"id": "attitude", "label": "服务态度", "weight": 1, "max": 2}]}


def _calibration(client: TestClient, team: dict[str, Headers], upload: Callable[..., str]) -> tuple[int, str]:
    """An open calibration session of one call, reviewed by sue and root: (its id, the call)."""
    form = client.post("/api/v1/evaluation-forms", json=FORM, headers=team["root"]).json()["id"]
    call_pk = upload(team["sue"], agent="alice", **BASE)
    created = client.post("/api/v1/calibration-sessions", headers=team["sue"], json={
        "name": "校准", "team": "t1", "form": form, "calls": [call_pk], "reviewers": ["sue", "root"]})
    assert created.status_code == 201, created.text
    return created.json()["id"], call_pk


def _attitude(value: int) -> EvaluationInput:
    return EvaluationInput(answers=[Answer(item="attitude", value=value)])


def _sue(session: Session) -> User:
    sue = session.scalar(select(User).where(User.name == "sue"))
    assert sue is not None
    return sue


def test_a_reviewer_answering_a_calibration_call_twice_at_once_keeps_one_answer_the_later(
        client: TestClient, team: dict[str, Headers], upload: Callable[..., str]) -> None:
    factory = session_factory(client)
    session_id, call_pk = _calibration(client, team, upload)

    def first_answer(session: Session) -> None:  # sue's first submission, flushed but not committed yet
        call, form = session.get(Call, call_pk), session.scalar(select(EvaluationForm))
        assert call is not None and form is not None
        answer = build_evaluation(session, _sue(session), call, form, _attitude(0))
        answer.calibration_id = session_id
        session.add(answer)

    race(factory, first=first_answer, second=lambda session: submit(session, _sue(session), session_id, call_pk,
                                                                     _attitude(2)),
         **holding_call(factory, "evaluations"))

    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Evaluation)
                              .where(Evaluation.calibration_id == session_id)) == 1
    answers = client.get(f"/api/v1/calibration-sessions/{session_id}/evaluations", headers=team["sue"]).json()
    assert [[a["value"] for a in answer["answers"]] for answer in answers] == [[2]]


def test_a_calibration_answer_racing_the_delete_of_its_call_is_a_404_and_leaves_no_answer(
        client: TestClient, team: dict[str, Headers], upload: Callable[..., str]) -> None:
    factory = session_factory(client)
    session_id, call_pk = _calibration(client, team, upload)

    def delete_call(session: Session) -> None:  # an admin's DELETE /calls/{id}, not committed yet
        call = session.get(Call, call_pk)
        assert call is not None
        session.delete(call)

    # sue found the call before the delete committed; the delete commits as she is about to write (holding the call)
    with pytest.raises(NotFound, match=f"call {call_pk!r} no longer exists"):
        race(factory, "calls", delete_call,
             lambda session: submit(session, _sue(session), session_id, call_pk, _attitude(2)), reads=False)

    with factory() as session:
        assert session.get(Call, call_pk) is None
        assert session.scalar(select(func.count()).select_from(Evaluation).where(Evaluation.call_pk == call_pk)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "calibration.answered")) == 0
    answer = client.post(f"/api/v1/calibration-sessions/{session_id}/evaluations", headers=team["sue"],
                         json={"call": call_pk, "answers": [{"item": "attitude", "value": 2}]})
    assert answer.status_code == 404 and "no longer exists" in answer.text  # what an answer after the delete gets


def test_two_identical_user_creates_at_once_create_one_the_other_already_exists(client: TestClient) -> None:
    factory = session_factory(client)

    def first_create(session: Session) -> None:  # another `qa-engine users create zoe`, not committed yet
        session.add(User(name="zoe", role="agent", team="t1", api_key_hash=hash_api_key(generate_api_key())))

    with pytest.raises(QaEngineError, match="user 'zoe' already exists"):
        race(factory, "users", first_create, lambda session: create_user(session, "zoe", "agent", "t1"))

    with factory() as session:
        assert session.scalars(select(User.team).where(User.name == "zoe")).all() == ["t1"]


def test_inserting_a_new_row_reports_it_inserted_on_both_databases(client: TestClient,
                                                                     team: dict[str, Headers]) -> None:
    """What :func:`~qa_engine.app.first_use.insert_if_absent` reports decides what its callers do next (PostgreSQL
    once said "not inserted" for every row, so a team's first pack choice was audited as replacing itself)."""
    with session_factory(client)() as session:
        assert insert_unless_taken(session, User, ["name"], name="zoe", role="agent", api_key_hash="z" * 64)
        assert not insert_unless_taken(session, User, ["name"], name="zoe", role="admin", api_key_hash="y" * 64)
    assert client.put("/api/v1/teams/t1/pack", json={"pack_id": "zh-CN"}, headers=team["root"]).status_code == 200
    with session_factory(client)() as session:
        audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "team_pack.set"))
        assert audit is not None and audit.before == {"pack_id": None, "version": None}
