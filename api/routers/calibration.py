"""Calibration sessions: create, answer blind, close, read the results (Fleiss' kappa, spread, AI vs human).

Use cases in :mod:`qa_engine.app.calibration` (which also enforces blindness); here: parse, call, shape.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from sqlalchemy.orm import Session

from qa_engine.app import calibration
from qa_engine.app.access import as_utc
from qa_engine.app.agreement import Agreement
from qa_engine.app.models import CalibrationSession, User

from ..deps import CurrentUser, RowId, SessionDep
from ..evaluation_schemas import (
    AgreementPublic,
    CalibrationAnswerCreate,
    CalibrationCreate,
    CalibrationPublic,
    CalibrationResults,
    CallSpread,
    EvaluationPublic,
    ItemAgreement,
    RuleAgreement,
)
from .evaluations import evaluation_input, evaluation_public

router = APIRouter(prefix="/calibration-sessions", tags=["calibration"])
Responses = dict[int | str, dict[str, Any]]
NOT_VISIBLE: Responses = {404: {"description": "no such session (or not yours)"},
                          403: {"description": "supervisors and admins only"}}


def session_public(session: Session, user: User, cal: CalibrationSession) -> CalibrationPublic:
    progress = calibration.progress(session, cal)
    mine = set(progress.get(user.name, []))
    pending = ([c for c in cal.calls if c not in mine]
               if user.name in cal.reviewers and cal.closed_at is None else [])
    return CalibrationPublic(id=cal.id, name=cal.name, team=cal.team, form=cal.form_id, calls=cal.calls,
                             reviewers=cal.reviewers, created_by=cal.created_by,
                             created_at=as_utc(cal.created_at) or cal.created_at, closed_at=as_utc(cal.closed_at),
                             state="open" if cal.closed_at is None else "closed", progress=progress,
                             my_pending=pending)


def agreement_fields(a: Agreement) -> dict[str, Any]:
    return {"subjects": a.subjects, "ratings": a.ratings, "observed": _r(a.observed), "expected": _r(a.expected),
            "kappa": _r(a.kappa), "unanimous": _r(a.unanimous)}


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


@router.post("", response_model=CalibrationPublic, status_code=status.HTTP_201_CREATED,
             responses={**NOT_VISIBLE, 422: {"description": "a call, reviewer or the form does not fit the team"}})
def create_session(body: CalibrationCreate, session: SessionDep, user: CurrentUser) -> CalibrationPublic:
    """Start a session: the reviewers each evaluate every call with the form, blind, until it is closed."""
    spec = calibration.SessionSpec(name=body.name, team=body.team, form_id=body.form, calls=body.calls,
                                   reviewers=body.reviewers)
    return session_public(session, user, calibration.create_session(session, user, spec))


@router.get("", response_model=list[CalibrationPublic], responses={403: NOT_VISIBLE[403]})
def list_sessions(session: SessionDep, user: CurrentUser) -> list[CalibrationPublic]:
    """Sessions the user takes part in or supervises, newest first."""
    return [session_public(session, user, cal) for cal in calibration.list_sessions(session, user)]


@router.get("/{session_id}", response_model=CalibrationPublic, responses=NOT_VISIBLE)
def read_session(session_id: RowId, session: SessionDep, user: CurrentUser) -> CalibrationPublic:
    return session_public(session, user, calibration.visible_session(session, user, session_id))


@router.post("/{session_id}/evaluations", response_model=EvaluationPublic, status_code=status.HTTP_201_CREATED,
             responses={**NOT_VISIBLE, 409: {"description": "the session is closed"},
                        422: {"description": "answers do not fit the form"}})
def answer(session_id: RowId, body: CalibrationAnswerCreate, session: SessionDep,
           user: CurrentUser) -> EvaluationPublic:
    """A reviewer's answer for one of the session's calls (again: replaces theirs while the session is open)."""
    done = calibration.submit(session, user, session_id, body.call, evaluation_input(body))
    return evaluation_public(done)


@router.get("/{session_id}/evaluations", response_model=list[EvaluationPublic], responses=NOT_VISIBLE)
def answers(session_id: RowId, session: SessionDep, user: CurrentUser) -> list[EvaluationPublic]:
    """Open session: your own answers only (blind). Closed: everyone's."""
    return [evaluation_public(e) for e in calibration.visible_answers(session, user, session_id)]


@router.post("/{session_id}/close", response_model=CalibrationPublic,
             responses={**NOT_VISIBLE, 409: {"description": "already closed"}})
def close_session(session_id: RowId, session: SessionDep, user: CurrentUser) -> CalibrationPublic:
    """Close the session: answers and results become visible; no more answers."""
    return session_public(session, user, calibration.close(session, user, session_id))


@router.get("/{session_id}/results", response_model=CalibrationResults,
            responses={**NOT_VISIBLE, 409: {"description": "the session is still open"}})
def results(session_id: RowId, session: SessionDep, user: CurrentUser) -> CalibrationResults:
    """Per item agreement and Fleiss' kappa, kappa over all items, score spread per call, AI vs human per rule."""
    done = calibration.results(session, user, session_id)
    return CalibrationResults(
        session=session_public(session, user, done.session), answers=done.answers,
        overall=AgreementPublic(**agreement_fields(done.overall)),
        items=[ItemAgreement(item=i.item, label=i.label, **agreement_fields(i.agreement)) for i in done.items],
        calls=[CallSpread(call=c.call, auto_score=c.auto_score, scores=c.scores, count=c.spread.count,
                          min=c.spread.minimum, max=c.spread.maximum, mean=_r(c.spread.mean, 1),
                          stdev=_r(c.spread.stdev, 2)) for c in done.calls],
        rules=[RuleAgreement(rule_id=r.rule_id, verdicts=r.verdicts, agreed=r.agreed, rate=_r(r.rate))
               for r in done.rules])
