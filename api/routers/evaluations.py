"""Evaluation forms and evaluations: admins define forms, reviewers fill them on calls, releases reach the agent.

Use cases in :mod:`qa_engine.app.evaluation_forms` and :mod:`qa_engine.app.evaluations`; here: parse, call, shape.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from qa_engine.app import evaluation_forms, evaluations
from qa_engine.app.access import as_utc
from qa_engine.app.evaluation_forms import FormItem, FormSpec
from qa_engine.app.evaluations import Answer, EvaluationInput
from qa_engine.app.models import Evaluation, EvaluationForm

from ..deps import CurrentUser, RowId, SessionDep
from ..evaluation_schemas import (
    EvaluationCreate,
    EvaluationFormCreate,
    EvaluationFormPublic,
    EvaluationPublic,
    FormItemSchema,
    StoredAnswer,
)

router = APIRouter(tags=["evaluations"])
Responses = dict[int | str, dict[str, Any]]
NOT_VISIBLE: Responses = {404: {"description": "no such call (or not yours)"}}


def form_public(form: EvaluationForm, current: set[int]) -> EvaluationFormPublic:
    return EvaluationFormPublic(id=form.id, team=form.team, name=form.name, version=form.version,
                                items=[FormItemSchema(**item) for item in form.items], auto_weight=form.auto_weight,
                                created_by=form.created_by, created_at=as_utc(form.created_at) or form.created_at,
                                current=form.id in current)


def evaluation_public(row: Evaluation) -> EvaluationPublic:
    return EvaluationPublic(id=row.id, call=row.call_pk, form=row.form_id, calibration_session=row.calibration_id,
                            reviewer=row.reviewer, answers=[StoredAnswer(**a) for a in row.answers],
                            rule_verdicts=row.rule_verdicts, comment=row.comment, auto_score=row.auto_score,
                            manual_score=row.manual_score, final_score=row.final_score,
                            critical_failed=row.critical_failed,
                            created_at=as_utc(row.created_at) or row.created_at,
                            released_at=as_utc(row.released_at), released_by=row.released_by)


def evaluation_input(body: EvaluationCreate) -> EvaluationInput:
    return EvaluationInput(answers=[Answer(item=a.item, value=a.value, comment=a.comment) for a in body.answers],
                           comment=body.comment, form_id=body.form, rule_verdicts=body.rule_verdicts)


@router.post("/evaluation-forms", response_model=EvaluationFormPublic, status_code=status.HTTP_201_CREATED,
             responses={403: {"description": "admins only"}, 422: {"description": "an item is malformed"}})
def create_form(body: EvaluationFormCreate, session: SessionDep, user: CurrentUser) -> EvaluationFormPublic:
    """Save a team's form; it becomes the team's current form (same name again: the next version)."""
    spec = FormSpec(team=body.team, name=body.name, auto_weight=body.auto_weight,
                    items=[FormItem(**item.model_dump()) for item in body.items])
    form = evaluation_forms.create_form(session, user, spec)
    return form_public(form, evaluation_forms.current_ids(session))


@router.get("/evaluation-forms", response_model=list[EvaluationFormPublic],
            responses={404: {"description": "no such team (or not yours)"}})
def list_forms(session: SessionDep, user: CurrentUser,
               team: Annotated[str | None, Query(max_length=128)] = None) -> list[EvaluationFormPublic]:
    """Forms of the teams the user may see (every version, newest first); ``current`` marks each team's form."""
    current = evaluation_forms.current_ids(session)
    return [form_public(f, current) for f in evaluation_forms.list_forms(session, user, team)]


@router.get("/evaluation-forms/{form_id}", response_model=EvaluationFormPublic,
            responses={404: {"description": "no such form (or not yours)"}})
def read_form(form_id: RowId, session: SessionDep, user: CurrentUser) -> EvaluationFormPublic:
    return form_public(evaluation_forms.get_form(session, user, form_id), evaluation_forms.current_ids(session))


@router.post("/calls/{call_id}/evaluations", response_model=EvaluationPublic, status_code=status.HTTP_201_CREATED,
             responses={**NOT_VISIBLE, 403: {"description": "supervisors and admins evaluate"},
                        409: {"description": "the call is not scored, or its team has no form"},
                        422: {"description": "answers do not fit the form"}})
def evaluate_call(call_id: str, body: EvaluationCreate, session: SessionDep, user: CurrentUser) -> EvaluationPublic:
    """Fill the team's form for a call; the final score combines the rules and the form (see the README)."""
    return evaluation_public(evaluations.evaluate_call(session, user, call_id[:64], evaluation_input(body)))


@router.get("/calls/{call_id}/evaluations", response_model=list[EvaluationPublic], responses=NOT_VISIBLE)
def call_evaluations(call_id: str, session: SessionDep, user: CurrentUser) -> list[EvaluationPublic]:
    """A call's evaluations, oldest first (its agent sees the released ones only)."""
    return [evaluation_public(e) for e in evaluations.call_evaluations(session, user, call_id[:64])]


@router.post("/evaluations/{evaluation_id}/release", response_model=EvaluationPublic,
             responses={404: {"description": "no such evaluation (or not yours)"},
                        403: {"description": "supervisors and admins release"},
                        409: {"description": "already released, or a calibration answer"}})
def release_evaluation(evaluation_id: RowId, session: SessionDep, user: CurrentUser) -> EvaluationPublic:
    """Show the evaluation to the call's agent; the call's JSON then carries its final score."""
    return evaluation_public(evaluations.release(session, user, evaluation_id))
