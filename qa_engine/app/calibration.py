"""Calibration sessions: several reviewers evaluate the same calls with one form, blind, then compare.

While a session is open each reviewer sees only their own answers (the API enforces it: nobody, admins included,
reads another reviewer's answers or the results before the session is closed); progress shows counts only.
Closing it reveals every answer and the results: per item Fleiss' kappa and agreement, kappa over all items,
the spread of each call's total scores, and per rule how often the reviewers' pass/fail verdicts match the
engine's own finding (its ``auto_status``, before any override; rules the engine found not applicable are
left out). Verdicts are optional per rule: a reviewer marks the rules they listened for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_engine.app.access import can_see_team, get_visible_call, require_role, supervised_teams
from qa_engine.app.agreement import Agreement, Spread, fleiss_kappa, spread
from qa_engine.app.audit import record
from qa_engine.app.errors import Conflict, Forbidden, Invalid, NotFound
from qa_engine.app.evaluation_forms import items_of
from qa_engine.app.evaluations import REVIEWERS, EvaluationInput, build_evaluation
from qa_engine.app.first_use import call_gone, hold_call, insert_unless_taken, locked_match
from qa_engine.app.models import CalibrationSession, Call, Evaluation, EvaluationForm, FindingRow, User, utcnow

MAX_CALLS = 50
MAX_REVIEWERS = 20
NA = "na"
#: what a reviewer's answer holds: a resubmission replaces them all (and ``created_at``: when it was last answered)
ANSWER_FIELDS = ("answers", "rule_verdicts", "comment", "auto_score", "manual_score", "final_score", "critical_failed")


@dataclass(frozen=True)
class SessionSpec:
    name: str
    team: str
    form_id: int
    calls: Sequence[str]
    reviewers: Sequence[str]


def _unique(values: Sequence[str], what: str, low: int, high: int) -> list[str]:
    unique = list(dict.fromkeys(values))
    if len(unique) != len(values):
        raise Invalid(f"{what}: each may be named once")
    if not low <= len(unique) <= high:
        raise Invalid(f"{what}: between {low} and {high} are needed (got {len(unique)})")
    return unique


def create_session(session: Session, user: User, spec: SessionSpec) -> CalibrationSession:
    """A supervisor of the team or an admin starts a session; every call, reviewer and the form are checked."""
    require_role(user, *REVIEWERS)
    if not can_see_team(session, user, spec.team):
        raise NotFound(f"no team {spec.team!r} (or not yours)")
    form = session.get(EvaluationForm, spec.form_id)
    if form is None or form.team != spec.team:
        raise Invalid(f"form: {spec.form_id} is not an evaluation form of team {spec.team!r}")
    calls = _unique(spec.calls, "calls", 1, MAX_CALLS)
    for call_id in calls:
        try:
            call = get_visible_call(session, user, call_id)
        except NotFound:
            raise Invalid(f"calls: no call {call_id!r} (or not yours)") from None
        if call.team != spec.team or call.status != "done":
            raise Invalid(f"calls: {call_id!r} is not a scored call of team {spec.team!r}")
    reviewers = _unique(spec.reviewers, "reviewers", 2, MAX_REVIEWERS)
    for name in reviewers:
        reviewer = session.scalar(select(User).where(User.name == name))
        if (reviewer is None or reviewer.disabled or reviewer.role not in REVIEWERS
                or not can_see_team(session, reviewer, spec.team)):
            raise Invalid(f"reviewers: {name!r} is not a supervisor of team {spec.team!r} or an admin")
    created = CalibrationSession(name=spec.name.strip() or f"calibration {spec.team}", team=spec.team,
                                 form_id=form.id, calls=calls, reviewers=reviewers, created_by=user.name)
    session.add(created)
    session.flush()
    record(session, user.name, "calibration.created",
           after={"id": created.id, "team": created.team, "form": form.id, "calls": calls, "reviewers": reviewers})
    session.commit()
    return created


def may_see(user: User, teams: set[str], cal: CalibrationSession) -> bool:
    """Admin, one of the reviewers, or a supervisor of the team (``teams``: the ones ``user`` supervises)."""
    return user.role == "admin" or user.name in cal.reviewers or cal.team in teams


def visible_session(session: Session, user: User, session_id: int) -> CalibrationSession:
    """The session if ``user`` is an admin, one of its reviewers or a supervisor of its team; else 404."""
    require_role(user, *REVIEWERS)
    cal = session.get(CalibrationSession, session_id)
    if cal is None or not may_see(user, set(supervised_teams(session, user)), cal):
        raise NotFound(f"calibration session {session_id} not found")
    return cal


def list_sessions(session: Session, user: User, limit: int = 200) -> list[CalibrationSession]:
    """Sessions ``user`` may see, newest first."""
    require_role(user, *REVIEWERS)
    rows = session.scalars(select(CalibrationSession).order_by(CalibrationSession.id.desc()).limit(2000))
    teams = set(supervised_teams(session, user))
    return [cal for cal in rows if may_see(user, teams, cal)][:limit]


def session_answers(session: Session, cal: CalibrationSession) -> list[Evaluation]:
    return list(session.scalars(select(Evaluation).where(Evaluation.calibration_id == cal.id)
                                .order_by(Evaluation.id)))


def progress(session: Session, cal: CalibrationSession) -> dict[str, list[str]]:
    """Per reviewer, the calls they have answered (ids only: no answers leak while the session is open)."""
    done: dict[str, list[str]] = {name: [] for name in cal.reviewers}
    for reviewer, call_pk in session.execute(select(Evaluation.reviewer, Evaluation.call_pk)
                                             .where(Evaluation.calibration_id == cal.id)):
        done.setdefault(reviewer, []).append(call_pk)
    return done


def submit(session: Session, user: User, session_id: int, call_id: str, data: EvaluationInput) -> Evaluation:
    """A reviewer of the open session answers (or re-answers) one of its calls with the session's form."""
    cal = visible_session(session, user, session_id)
    if user.name not in cal.reviewers:
        raise Forbidden(f"you are not a reviewer of calibration session {cal.id}")
    if cal.closed_at is not None:
        raise Conflict(f"calibration session {cal.id} is closed")
    if call_id not in cal.calls:
        raise NotFound(f"call {call_id!r} is not in calibration session {cal.id}")
    hold_call(session, call_id)
    call = session.get(Call, call_id)
    form = session.get(EvaluationForm, cal.form_id)
    if call is None or form is None:
        raise call_gone(call_id)
    evaluation = _store_answer(session, cal, build_evaluation(session, user, call, form, data))
    session.flush()
    record(session, user.name, "calibration.answered", call_pk=call.id,
           after={"session": cal.id, "evaluation": evaluation.id})
    session.commit()
    return evaluation


def _store_answer(session: Session, cal: CalibrationSession, answer: Evaluation) -> Evaluation:
    """Store ``answer`` as its reviewer's one answer to its call in ``cal``, replacing an earlier one.

    Two submissions at the same instant (a double click, a retried request) both find no answer yet: the row is
    created once (:func:`~qa_engine.app.first_use.insert_unless_taken` on the session's unique key) and the later
    submission overwrites it under its row lock, as a resubmission does, instead of failing on the key (a 500).
    """
    key = {"calibration_id": cal.id, "call_pk": answer.call_pk, "reviewer": answer.reviewer}
    values = {**{name: getattr(answer, name) for name in ANSWER_FIELDS}, "created_at": utcnow()}
    inserted = insert_unless_taken(session, Evaluation, list(key), **key, form_id=answer.form_id, **values)
    stored = locked_match(session, Evaluation, **key)
    if stored is None:  # the session was deleted meanwhile (its answers go with it; the call is held)
        raise call_gone(answer.call_pk)
    if not inserted:
        for name, value in values.items():
            setattr(stored, name, value)
    return stored


def visible_answers(session: Session, user: User, session_id: int) -> list[Evaluation]:
    """Open session: the caller's own answers only (blind). Closed: everyone's."""
    cal = visible_session(session, user, session_id)
    answers = session_answers(session, cal)
    if cal.closed_at is None:
        return [a for a in answers if a.reviewer == user.name]
    return answers


def close(session: Session, user: User, session_id: int) -> CalibrationSession:
    """End the session: answers become visible and the results can be read. Its creator, a supervisor of the
    team or an admin (not a reviewer who only takes part)."""
    cal = visible_session(session, user, session_id)
    if not (user.role == "admin" or user.name == cal.created_by or cal.team in supervised_teams(session, user)):
        raise Forbidden("only the session's creator, a supervisor of its team or an admin closes it")
    if cal.closed_at is not None:
        raise Conflict(f"calibration session {cal.id} is already closed")
    cal.closed_at = utcnow()
    record(session, user.name, "calibration.closed", after={"id": cal.id, "answers": len(session_answers(session,
                                                                                                           cal))})
    session.commit()
    return cal


@dataclass(frozen=True)
class ItemResult:
    item: str
    label: str
    agreement: Agreement


@dataclass(frozen=True)
class CallResult:
    call: str
    scores: dict[str, float | None]  #: reviewer -> final score
    spread: Spread
    auto_score: float | None


@dataclass(frozen=True)
class RuleResult:
    rule_id: str
    verdicts: int  #: reviewer verdicts on calls where the engine said pass or fail
    agreed: int
    rate: float | None


@dataclass(frozen=True)
class Results:
    session: CalibrationSession
    answers: int
    items: list[ItemResult]
    overall: Agreement
    calls: list[CallResult]
    rules: list[RuleResult] = field(default_factory=list)


def category(value: int | None) -> str:
    return NA if value is None else str(value)


def results(session: Session, user: User, session_id: int) -> Results:
    """The session's results; 409 while it is open (results would reveal the answers)."""
    cal = visible_session(session, user, session_id)
    if cal.closed_at is None:
        raise Conflict(f"calibration session {cal.id} is open: close it to see the results")
    form = session.get(EvaluationForm, cal.form_id)
    assert form is not None  # a foreign key
    answers = session_answers(session, cal)
    by_call: dict[str, list[Evaluation]] = defaultdict(list)
    for answer in answers:
        by_call[answer.call_pk].append(answer)
    ordered_calls = [c for c in cal.calls if c in by_call]
    items = []
    pooled: list[list[str]] = []
    for item in items_of(form):
        per_call = [[category(_value(e, item.id)) for e in by_call[c]] for c in ordered_calls]
        pooled.extend(per_call)
        items.append(ItemResult(item=item.id, label=item.label, agreement=fleiss_kappa(per_call)))
    calls = []
    for call_pk in ordered_calls:
        evaluations = by_call[call_pk]
        scores = {e.reviewer: e.final_score for e in evaluations}
        calls.append(CallResult(call=call_pk, scores=scores, auto_score=evaluations[0].auto_score,
                                spread=spread([s for s in scores.values() if s is not None])))
    return Results(session=cal, answers=len(answers), items=items, overall=fleiss_kappa(pooled), calls=calls,
                   rules=_rule_agreement(session, answers))


def _value(evaluation: Evaluation, item_id: str) -> int | None:
    for answer in evaluation.answers:
        if answer.get("item") == item_id:
            value = answer.get("value")
            return int(value) if value is not None else None
    return None


def _rule_agreement(session: Session, answers: list[Evaluation]) -> list[RuleResult]:
    """Per rule: the share of reviewer verdicts equal to the engine's finding status (pass/fail findings only)."""
    call_ids = {a.call_pk for a in answers if a.rule_verdicts}
    engine = {(call_pk, rule_id): status for call_pk, rule_id, status in session.execute(
        select(FindingRow.call_pk, FindingRow.rule_id, FindingRow.auto_status)
        .where(FindingRow.call_pk.in_(call_ids)))} if call_ids else {}
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for answer in answers:
        for rule_id, verdict in (answer.rule_verdicts or {}).items():
            auto = engine.get((answer.call_pk, rule_id))
            if auto not in ("pass", "fail"):
                continue
            counts[rule_id][0] += 1
            counts[rule_id][1] += int(auto == verdict)
    return [RuleResult(rule_id=rule_id, verdicts=n, agreed=agreed, rate=agreed / n if n else None)
            for rule_id, (n, agreed) in sorted(counts.items())]
