"""Evaluations: a reviewer fills a team's form on a call; the final score combines the rules and the form.

    manual score = 100 x sum(weight x value / max) / sum(weight)     over the items not answered N/A
    final score  = auto_weight x automatic score + (1 - auto_weight) x manual score

The automatic score is the call's current score (after overrides). When every item is N/A the final score is the
automatic score; when the call has no automatic score it is the manual score. A critical item answered 0 makes
the final score 0 whatever else was answered. Evaluations start private to supervisors and admins; a release
shows one to the call's agent. Calibration answers (:mod:`qa_engine.app.calibration`) use the same scoring but
are never released and never become the call's evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_engine.app.access import as_utc, get_visible_call, require_role
from qa_engine.app.audit import record
from qa_engine.app.errors import Conflict, Invalid, NotFound
from qa_engine.app.evaluation_forms import FormItem, current_form, items_of
from qa_engine.app.events import evaluation_submitted
from qa_engine.app.first_use import hold_call
from qa_engine.app.models import Call, Evaluation, EvaluationForm, FindingRow, User, utcnow
from qa_engine.pii import mask_optional

REVIEWERS = ("supervisor", "admin")
VERDICTS = ("pass", "fail")


@dataclass(frozen=True)
class Answer:
    """The answer to one item: a whole number 0..max, or None for N/A."""

    item: str
    value: int | None
    comment: str | None = None


@dataclass(frozen=True)
class EvaluationInput:
    """What a reviewer submits. ``rule_verdicts``: their own pass/fail per rule (used by calibration)."""

    answers: Sequence[Answer]
    comment: str | None = None
    form_id: int | None = None
    rule_verdicts: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Scores:
    manual: float | None
    final: float | None
    critical_failed: bool
    answers: list[dict[str, Any]]  #: as stored: item, label, value, max, comment (masked)


def score_answers(items: Sequence[FormItem], answers: Sequence[Answer], auto_score: float | None,
                  auto_weight: float) -> Scores:
    """Check ``answers`` against ``items`` (every item once, values in range, N/A only where allowed) and score.

    Raises :class:`Invalid` naming the item at fault.
    """
    by_id = {item.id: item for item in items}
    given: dict[str, Answer] = {}
    for answer in answers:
        if answer.item not in by_id:
            raise Invalid(f"answers: no item {answer.item!r} in this form (items: {', '.join(by_id)})")
        if answer.item in given:
            raise Invalid(f"answers: item {answer.item!r} is answered twice")
        given[answer.item] = answer
    missing = [item.id for item in items if item.id not in given]
    if missing:
        raise Invalid(f"answers: items not answered: {', '.join(missing)} (answer N/A with null where allowed)")
    weighted = total_weight = 0.0
    critical_failed = False
    stored = []
    for item in items:
        answer = given[item.id]
        if answer.value is None:
            if not item.allow_na:
                raise Invalid(f"answers: item {item.id!r} cannot be N/A")
        else:
            if not 0 <= answer.value <= item.max:
                raise Invalid(f"answers: item {item.id!r} takes 0..{item.max} (got {answer.value})")
            weighted += item.weight * answer.value / item.max
            total_weight += item.weight
            critical_failed = critical_failed or (item.critical and answer.value == 0)
        stored.append({"item": item.id, "label": item.label, "value": answer.value, "max": item.max,
                       "comment": mask_optional(answer.comment)})
    manual = round(100.0 * weighted / total_weight, 1) if total_weight else None
    return Scores(manual=manual, final=combine(auto_score, manual, auto_weight, critical_failed),
                  critical_failed=critical_failed, answers=stored)


def combine(auto_score: float | None, manual: float | None, auto_weight: float, critical_failed: bool) -> float | None:
    """The final score (see the module docstring)."""
    if critical_failed:
        return 0.0
    if manual is None:
        return auto_score
    if auto_score is None:
        return manual
    return round(auto_weight * auto_score + (1.0 - auto_weight) * manual, 1)


def check_verdicts(session: Session, call: Call, verdicts: Mapping[str, str] | None) -> dict[str, str] | None:
    """Rule verdicts name rules the call has findings for, each pass or fail; 422 otherwise."""
    if not verdicts:
        return None
    rules = set(session.scalars(select(FindingRow.rule_id).where(FindingRow.call_pk == call.id)))
    for rule_id, verdict in verdicts.items():
        if rule_id not in rules:
            raise Invalid(f"rule_verdicts: call {call.id!r} has no finding for rule {rule_id!r}")
        if verdict not in VERDICTS:
            raise Invalid(f"rule_verdicts: {rule_id!r} must be pass or fail (got {verdict!r})")
    return dict(verdicts)


def build_evaluation(session: Session, user: User, call: Call, form: EvaluationForm,
                     data: EvaluationInput) -> Evaluation:
    """A new (unsaved) evaluation of ``call`` by ``user`` with ``form``; 409 for a call with no score yet."""
    if call.status != "done":
        raise Conflict(f"call {call.id!r} is {call.status}: it can be evaluated once it is scored")
    scores = score_answers(items_of(form), data.answers, call.score, form.auto_weight)
    return Evaluation(call_pk=call.id, form_id=form.id, reviewer=user.name, answers=scores.answers,
                      rule_verdicts=check_verdicts(session, call, data.rule_verdicts),
                      comment=mask_optional(data.comment), auto_score=call.score, manual_score=scores.manual,
                      final_score=scores.final, critical_failed=scores.critical_failed)


def evaluate_call(session: Session, user: User, call_id: str, data: EvaluationInput) -> Evaluation:
    """A supervisor or admin evaluates a call they may see, with its team's current form (or an older version)."""
    call = get_visible_call(session, user, call_id)
    require_role(user, *REVIEWERS)
    hold_call(session, call.id)
    if data.form_id is None:
        form = current_form(session, call.team)
        if form is None:
            raise Conflict(f"team {call.team!r} has no evaluation form yet: an admin creates one "
                           "(POST /api/v1/evaluation-forms)")
    else:
        form = session.get(EvaluationForm, data.form_id)
        if form is None or form.team != call.team:
            raise Invalid(f"form: {data.form_id} is not an evaluation form of team {call.team!r}")
    evaluation = build_evaluation(session, user, call, form, data)
    session.add(evaluation)
    session.flush()
    record(session, user.name, "evaluation.created", call_pk=call.id,
           after={"id": evaluation.id, "form": form.id, "final_score": evaluation.final_score})
    evaluation_submitted(session, call, evaluation, form)
    session.commit()
    return evaluation


def call_evaluations(session: Session, user: User, call_id: str) -> list[Evaluation]:
    """Evaluations of a call, oldest first: all for supervisors and admins, released ones for its agent."""
    call = get_visible_call(session, user, call_id)
    query = select(Evaluation).where(Evaluation.call_pk == call.id, Evaluation.calibration_id.is_(None))
    if user.role not in REVIEWERS:
        query = query.where(Evaluation.released_at.is_not(None))
    return list(session.scalars(query.order_by(Evaluation.id)))


def release(session: Session, user: User, evaluation_id: int) -> Evaluation:
    """Show an evaluation to the call's agent (once). 404 when not visible, 409 if released or a calibration one."""
    evaluation = session.get(Evaluation, evaluation_id)
    if evaluation is None:
        raise NotFound(f"evaluation {evaluation_id} not found")
    try:
        get_visible_call(session, user, evaluation.call_pk)
    except NotFound:
        raise NotFound(f"evaluation {evaluation_id} not found") from None
    if user.role not in REVIEWERS and evaluation.released_at is None:
        raise NotFound(f"evaluation {evaluation_id} not found")
    require_role(user, *REVIEWERS)
    if evaluation.calibration_id is not None:
        raise Conflict(f"evaluation {evaluation_id} belongs to a calibration session and is never released")
    if evaluation.released_at is not None:
        raise Conflict(f"evaluation {evaluation_id} was already released")
    hold_call(session, evaluation.call_pk)
    evaluation.released_at = utcnow()
    evaluation.released_by = user.name
    record(session, user.name, "evaluation.released", call_pk=evaluation.call_pk,
           after={"id": evaluation.id, "final_score": evaluation.final_score})
    session.commit()
    return evaluation


def released_summary(session: Session, call: Call) -> dict[str, Any] | None:
    """The call's newest released evaluation, short (for the call's JSON), or None."""
    row = session.execute(
        select(Evaluation, EvaluationForm.name, EvaluationForm.version)
        .join(EvaluationForm, EvaluationForm.id == Evaluation.form_id)
        .where(Evaluation.call_pk == call.id, Evaluation.calibration_id.is_(None),
               Evaluation.released_at.is_not(None))
        .order_by(Evaluation.released_at.desc(), Evaluation.id.desc()).limit(1)).first()
    if row is None:
        return None
    evaluation, form_name, form_version = row
    return {"id": evaluation.id, "score": evaluation.final_score, "manual_score": evaluation.manual_score,
            "critical_failed": evaluation.critical_failed, "form": form_name, "form_version": form_version,
            "reviewer": evaluation.reviewer, "released_at": as_utc(evaluation.released_at)}
