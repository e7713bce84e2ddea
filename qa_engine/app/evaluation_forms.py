"""Evaluation forms: the manual items a team's reviewers fill in, with weights, N/A and critical items.

A form is never edited: saving a form under a name the team already uses adds a new version, so every stored
evaluation keeps pointing at the exact items it was filled against. The newest form of a team is its current one
(the one the call page offers). Admins create forms; whoever may see a team may read its forms. A form's name and
its items' labels are stored PII-masked (:class:`~qa_engine.app.models.EvaluationForm`): the versions of a name are
found by the masked name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qa_engine.app.access import can_see_team, require_role, supervised_teams
from qa_engine.app.audit import record
from qa_engine.app.errors import Invalid, NotFound
from qa_engine.app.models import EvaluationForm, User

MAX_ITEMS = 50


@dataclass(frozen=True)
class FormItem:
    """One manual item: answered with a whole number 0..``max`` (``max`` 1: no/yes), or N/A where allowed.

    A critical item answered 0 zeroes the final score of the evaluation (a fatal error, e.g. 泄露客户信息).
    """

    id: str
    label: str
    weight: float = 1.0
    max: int = 1
    allow_na: bool = False
    critical: bool = False


@dataclass(frozen=True)
class FormSpec:
    """What an admin submits: the team, a name, the items and the share of the automatic score."""

    team: str
    name: str
    items: Sequence[FormItem]
    auto_weight: float = 0.5


def items_of(form: EvaluationForm) -> list[FormItem]:
    return [FormItem(**item) for item in form.items]


def check_spec(spec: FormSpec) -> None:
    """Semantic checks the request schema cannot express (it already bounds each value); 422 naming the item."""
    if not spec.items:
        raise Invalid("a form needs at least one item")
    if len(spec.items) > MAX_ITEMS:
        raise Invalid(f"a form has at most {MAX_ITEMS} items (got {len(spec.items)})")
    seen: set[str] = set()
    for item in spec.items:
        if item.id in seen:
            raise Invalid(f"item id {item.id!r} is used twice: every item needs its own id")
        seen.add(item.id)
        if not item.label.strip():
            raise Invalid(f"item {item.id!r} needs a label")
        if item.weight <= 0:
            raise Invalid(f"item {item.id!r}: weight must be above 0 (got {item.weight})")
        if item.max < 1:
            raise Invalid(f"item {item.id!r}: max must be at least 1 (got {item.max})")
    if not 0.0 <= spec.auto_weight <= 1.0:
        raise Invalid(f"auto_weight must be between 0 and 1 (got {spec.auto_weight})")
    if not spec.team.strip() or not spec.name.strip():
        raise Invalid("a form needs a team and a name")


def create_form(session: Session, user: User, spec: FormSpec) -> EvaluationForm:
    """Save ``spec`` as the team's newest (current) form; version n+1 when the name is taken. Admins only."""
    require_role(user, "admin")
    check_spec(spec)
    items = [{**asdict(item), "label": item.label.strip()} for item in spec.items]  # labels stored masked (model)
    name = EvaluationForm.stored_name(spec.name)  # stored masked: the versions of a form are found by what is stored
    latest = session.scalar(select(func.max(EvaluationForm.version))
                            .where(EvaluationForm.team == spec.team, EvaluationForm.name == name))
    form = EvaluationForm(team=spec.team, name=name, version=(latest or 0) + 1, items=items,
                          auto_weight=spec.auto_weight, created_by=user.name)
    session.add(form)
    session.flush()
    record(session, user.name, "evaluation_form.created", after={"id": form.id, "team": form.team,
                                                                  "name": form.name, "version": form.version})
    session.commit()
    return form


def visible_teams(session: Session, user: User) -> list[str] | None:
    """The teams whose forms ``user`` may read; None: every team (admin)."""
    if user.role == "admin":
        return None
    if user.role == "supervisor":
        return supervised_teams(session, user)
    return [user.team] if user.team else []


def list_forms(session: Session, user: User, team: str | None = None) -> list[EvaluationForm]:
    """Forms (every version, newest first) of the teams ``user`` may see, or of ``team`` (404 when not visible)."""
    query = select(EvaluationForm).order_by(EvaluationForm.id.desc()).limit(500)
    if team is not None:
        if not can_see_team(session, user, team):
            raise NotFound(f"no team {team!r} (or not yours)")
        return list(session.scalars(query.where(EvaluationForm.team == team)))
    teams = visible_teams(session, user)
    if teams is not None:
        query = query.where(EvaluationForm.team.in_(teams))
    return list(session.scalars(query))


def current_form(session: Session, team: str | None) -> EvaluationForm | None:
    """The team's newest form (the one the call page offers), or None."""
    if team is None:
        return None
    return session.scalar(select(EvaluationForm).where(EvaluationForm.team == team)
                          .order_by(EvaluationForm.id.desc()).limit(1))


def current_ids(session: Session) -> set[int]:
    """The id of each team's current form."""
    return {form_id for form_id in session.scalars(select(func.max(EvaluationForm.id)).group_by(EvaluationForm.team))}


def get_form(session: Session, user: User, form_id: int) -> EvaluationForm:
    """A form of a team ``user`` may see; 404 otherwise (like a form that does not exist)."""
    form = session.get(EvaluationForm, form_id)
    if form is None or not can_see_team(session, user, form.team):
        raise NotFound(f"evaluation form {form_id} not found")
    return form


def form_document(form: EvaluationForm) -> dict[str, Any]:
    """The form as the API shows it (items in their order)."""
    return {"id": form.id, "team": form.team, "name": form.name, "version": form.version,
            "items": [asdict(item) for item in items_of(form)], "auto_weight": form.auto_weight,
            "created_by": form.created_by, "created_at": form.created_at}
