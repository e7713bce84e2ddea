"""The review queue (supervisor inbox): one item per call that a person should look at, and why.

A call enters the queue when an agent disputes one of its findings (``dispute``), when it is scored with a failed
critical finding (``critical_fail``) or below ``review_low_score`` (``low_score``, setting, default 60), and when a
sampling plan of its team selects it (``sampled``, :mod:`qa_engine.app.sampling`). The reasons of one call are
merged into its single item. An item moves ``open -> in_review -> done`` (see :data:`TRANSITIONS`); it cannot be
done while a dispute of the call is open, and deciding a call's last open dispute finishes an item that is there
for that dispute alone. A new dispute, or a reason the item did not have yet, reopens a finished item.

Only supervisors and admins use the queue (agents: 403), scoped like calls (:func:`access.visible_to`); an item
can be assigned to a supervisor of the call's team or an admin. Assignments, state changes, plans and sampled
calls are audited. The hooks (:func:`note_scored`, :func:`note_dispute`, :func:`note_dispute_resolved`) are
called inside the transactions of scoring and reviews, which commit them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from qa_engine.app.access import get_visible_call, not_found, require_role, supervised_teams, visible_to
from qa_engine.app.analysis import require_team
from qa_engine.app.audit import record
from qa_engine.app.errors import Conflict, Invalid, NotFound
from qa_engine.app.first_use import hold_call, hold_row, insert_if_absent, locked_row
from qa_engine.app.models import Call, FindingRow, ReviewItem, SamplingPlan, User, utcnow
from qa_engine.app.models import Review as ReviewRow
from qa_engine.app.sampling import PlanSpec, create_plan, draw, plan_record, team_plans

logger = logging.getLogger(__name__)

SUPERVISORS = ("supervisor", "admin")
#: every reason, in the order an item lists them
REASONS = ("dispute", "critical_fail", "low_score", "sampled")
STATES = ("open", "in_review", "done")
#: the moves a person may make (a new dispute also reopens a done item by itself)
TRANSITIONS: dict[str, tuple[str, ...]] = {"open": ("in_review",), "in_review": ("open", "done"), "done": ("open",)}
DEFAULT_LOW_SCORE = 60.0
#: ``session.info`` key the service sets from its settings (``api.main``); else the environment's settings apply
LOW_SCORE_KEY = "review_low_score"
#: a new plan draws at most this many already-scored calls from its look-back window
BACKFILL_LIMIT = 5000


def parse_reasons(text: str) -> list[str]:
    return [r for r in text.split(",") if r]


def join_reasons(reasons: Iterable[str]) -> str:
    given = set(reasons)
    return ",".join(r for r in REASONS if r in given)


def has_reason(reason: str) -> ColumnElement[bool]:
    """SQL: the item lists ``reason`` (reasons are comma-separated names; no name contains another)."""
    column = ReviewItem.reasons
    return or_(column == reason, column.like(f"{reason},%"), column.like(f"%,{reason}"),
               column.like(f"%,{reason},%"))


def low_score_threshold(session: Session) -> float:
    """Scores below this put a call in the queue (0: never): the service's setting, else the environment's."""
    value = session.info.get(LOW_SCORE_KEY)
    if isinstance(value, int | float):
        return float(value)
    from qa_engine.app.settings import environment_settings  # (settings imports the app's modules)

    found = environment_settings()
    return DEFAULT_LOW_SCORE if found is None else found.review_low_score


def add_reasons(session: Session, call: Call, reasons: Iterable[str], *, reopen: bool = False) -> ReviewItem | None:
    """Put ``call`` in the queue for ``reasons`` (merged into its item); a done item reopens on a new reason,
    or always with ``reopen``. The caller commits.

    Safe when another transaction queues the same call at the same time: the item is created once
    (:func:`~qa_engine.app.first_use.insert_if_absent`) and the reasons are merged into it under its row lock, so
    both transactions' reasons are kept.
    """
    wanted = set(reasons)
    if not wanted:
        return None
    now = utcnow()
    created = insert_if_absent(session, ReviewItem, call_pk=call.id, reasons=join_reasons(wanted), state="open",
                               created_at=now, updated_at=now)
    item = locked_row(session, ReviewItem, call.id)  # another transaction's item, when it made one meanwhile
    if item is None:  # the call was deleted meanwhile (its item goes with it)
        raise not_found(call.id)
    if created:
        return item
    had = set(parse_reasons(item.reasons))
    if not wanted - had and not reopen:
        return item
    item.reasons = join_reasons(had | wanted)
    item.updated_at = now
    if item.state == "done":
        item.state, item.done_by, item.done_at = "open", None, None
    return item


def _sampled(session: Session, plan: SamplingPlan, call: Call) -> bool:
    """Draw ``call`` for ``plan``; when selected, audit it (the draw itself is stored by the sampling module)."""
    drawn = draw(session, plan, call)
    if drawn is None or not drawn.selected:
        return False
    record(session, f"sampling-plan:{plan.id}", "review_item.sampled", call_pk=call.id,
           after={"plan": plan.id, "value": drawn.value, "rule": drawn.rule, "percent": plan.percent,
                  "per_agent_min": plan.per_agent_min},
           detail=f"selected by sampling plan {plan.id} of team {plan.team}")
    return True


def note_scored(session: Session, call: Call) -> None:
    """Hook of :func:`qa_engine.app.report_store.store_report`: queue a scored call that needs a person."""
    if call.status != "done":
        return
    session.flush()
    reasons = []
    critical = select(FindingRow.id).where(FindingRow.call_pk == call.id, FindingRow.severity == "critical",
                                           FindingRow.status == "fail").limit(1)
    if session.scalar(critical) is not None:
        reasons.append("critical_fail")
    if call.score is not None and call.score < low_score_threshold(session):
        reasons.append("low_score")
    if any([_sampled(session, plan, call) for plan in team_plans(session, call.team)]):
        reasons.append("sampled")
    add_reasons(session, call, reasons)


def note_dispute(session: Session, call: Call) -> None:
    """Hook of :func:`qa_engine.app.reviews.dispute`: the disputed call is (again) open in the queue."""
    add_reasons(session, call, ["dispute"], reopen=True)


def _open_disputes(session: Session, call_pk: str) -> int:
    return session.scalar(select(func.count()).select_from(ReviewRow).where(
        ReviewRow.call_pk == call_pk, ReviewRow.kind == "dispute", ReviewRow.state == "open")) or 0


def note_dispute_resolved(session: Session, call: Call, actor: str) -> None:
    """Hook of :func:`qa_engine.app.reviews.resolve`: deciding the last open dispute of a call that is in the queue
    for that dispute alone finishes its item (other reasons still need their review)."""
    item = session.get(ReviewItem, call.id)
    if item is None or item.state == "done" or parse_reasons(item.reasons) != ["dispute"]:
        return
    if _open_disputes(session, call.id):
        return
    now = utcnow()  # not audited apart: the decision's own audit entry (dispute.accepted/rejected) says who and when
    item.state, item.done_by, item.done_at, item.updated_at = "done", actor, now, now


@dataclass(frozen=True)
class QueueEntry:
    """An item with its call and the call's open disputes (what the inbox shows)."""

    item: ReviewItem
    call: Call
    open_disputes: int


@dataclass(frozen=True)
class QueuePage:
    entries: list[QueueEntry]
    total: int


def list_queue(session: Session, user: User, *, team: str | None = None, state: str | None = None,
               reason: str | None = None, assigned_to: str | None = None, limit: int = 50,
               offset: int = 0) -> QueuePage:
    """One page of the queue items on calls ``user`` may see, oldest first, and how many match in all.

    Raises:
        Forbidden: an agent. NotFound: a team the user does not supervise. Invalid: an unknown state or reason.
    """
    require_role(user, *SUPERVISORS)
    where: list[ColumnElement[bool]] = [visible_to(user)]
    if team is not None:
        require_team(session, user, team)
        where.append(Call.team == team)
    if state is not None:
        if state not in STATES:
            raise Invalid(f"query parameter 'state': use one of {', '.join(STATES)}")
        where.append(ReviewItem.state == state)
    if reason is not None:
        if reason not in REASONS:
            raise Invalid(f"query parameter 'reason': use one of {', '.join(REASONS)}")
        where.append(has_reason(reason))
    if assigned_to is not None:
        where.append(ReviewItem.assigned_to == assigned_to)
    base = select(ReviewItem, Call).join(Call, Call.id == ReviewItem.call_pk).where(*where)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(base.order_by(ReviewItem.created_at, ReviewItem.call_pk).limit(limit).offset(offset)).all()
    disputes = _open_dispute_counts(session, [item.call_pk for item, _call in rows])
    return QueuePage([QueueEntry(item, call, disputes.get(item.call_pk, 0)) for item, call in rows], total)


def _open_dispute_counts(session: Session, call_pks: list[str]) -> dict[str, int]:
    if not call_pks:
        return {}
    rows = session.execute(select(ReviewRow.call_pk, func.count()).where(
        ReviewRow.call_pk.in_(call_pks), ReviewRow.kind == "dispute", ReviewRow.state == "open")
        .group_by(ReviewRow.call_pk))
    return {call_pk: n for call_pk, n in rows}


def get_entry(session: Session, user: User, call_id: str) -> QueueEntry:
    """The queue item of a visible call; NotFound for a call the user may not see or one not in the queue."""
    require_role(user, *SUPERVISORS)
    call = get_visible_call(session, user, call_id)
    item = session.get(ReviewItem, call.id)
    if item is None:
        raise NotFound(f"call {call_id!r} is not in the review queue")
    return QueueEntry(item, call, _open_disputes(session, call.id))


def _item_record(item: ReviewItem) -> dict[str, Any]:
    return {"state": item.state, "assigned_to": item.assigned_to}


def _check_reviewer(session: Session, call: Call, name: str) -> None:
    reviewer = session.scalar(select(User).where(User.name == name))
    eligible = reviewer is not None and not reviewer.disabled and (
        reviewer.role == "admin"
        or (reviewer.role == "supervisor" and call.team is not None
            and call.team in supervised_teams(session, reviewer)))
    if not eligible:
        team = f"team {call.team!r}" if call.team else "calls without a team (admins only)"
        raise Invalid(f"reviewer: {name!r} is not an active supervisor or admin of {team}")


def assign(session: Session, user: User, call_id: str, reviewer: str | None) -> QueueEntry:
    """Assign the item to ``reviewer`` (None: unassign); audited, committed.

    Raises:
        Forbidden: an agent. NotFound: no such item on a visible call.
        Invalid: the reviewer is not an active supervisor of the call's team or an admin. Conflict: the item is done.
    """
    entry = get_entry(session, user, call_id)
    hold_call(session, entry.call.id)
    item = entry.item
    if item.state == "done":
        raise Conflict(f"the review of call {call_id!r} is done; reopen it before assigning it")
    if reviewer is not None:
        _check_reviewer(session, entry.call, reviewer)
    before = _item_record(item)
    item.assigned_to = reviewer
    item.updated_at = utcnow()
    record(session, user.name, "review_item.assigned", call_pk=item.call_pk, before=before, after=_item_record(item),
           detail=f"assigned to {reviewer}" if reviewer else "unassigned")
    session.commit()
    return entry


def change_state(session: Session, user: User, call_id: str, new_state: str) -> QueueEntry:
    """Move the item along :data:`TRANSITIONS`; starting an unassigned item assigns it to ``user``. Audited.

    Raises:
        Forbidden, NotFound: as :func:`get_entry`. Invalid: an unknown state.
        Conflict: a move the item's state does not allow (also when another user moved it just now), or ``done``
        while a dispute of the call is open.
    """
    if new_state not in STATES:
        raise Invalid(f"state: use one of {', '.join(STATES)}")
    entry = get_entry(session, user, call_id)
    hold_call(session, entry.call.id)
    item = entry.item
    old = item.state
    if new_state not in TRANSITIONS[old]:
        allowed = " or ".join(TRANSITIONS[old])
        raise Conflict(f"the review of call {call_id!r} is {old}: it can move to {allowed} only")
    if new_state == "done" and entry.open_disputes:
        raise Conflict(f"call {call_id!r} has {entry.open_disputes} open dispute(s): decide them before finishing")
    before = _item_record(item)
    now = utcnow()
    values: dict[str, Any] = {"state": new_state, "updated_at": now}
    if new_state == "in_review" and item.assigned_to is None:
        values["assigned_to"] = user.name
    if new_state == "done":
        values.update(done_by=user.name, done_at=now)
    elif old == "done":
        values.update(done_by=None, done_at=None)
    moved = session.execute(update(ReviewItem).where(ReviewItem.call_pk == item.call_pk, ReviewItem.state == old)
                            .values(**values))
    if cast(CursorResult[Any], moved).rowcount != 1:
        session.rollback()
        raise Conflict(f"the review of call {call_id!r} was changed by someone else just now; reload it")
    session.refresh(item)
    record(session, user.name, "review_item.state", call_pk=item.call_pk, before=before, after=_item_record(item),
           detail=f"{old} -> {new_state}")
    session.commit()
    return QueueEntry(item, entry.call, entry.open_disputes)


def create_sampling_plan(session: Session, user: User, spec: PlanSpec) -> tuple[SamplingPlan, int]:
    """Create a plan and draw the team's calls scored since :attr:`SamplingPlan.since` that are not in the queue
    yet (at most :data:`BACKFILL_LIMIT`, in scoring order); returns the plan and how many it selected. Audited."""
    plan = create_plan(session, user, spec)
    in_queue = exists(select(ReviewItem.call_pk).where(ReviewItem.call_pk == Call.id))
    scored_since = or_(Call.finished_at >= plan.since, and_(Call.finished_at.is_(None), Call.created_at >= plan.since))
    candidates = session.scalars(select(Call).where(Call.team == plan.team, Call.status == "done", scored_since,
                                                    ~in_queue)
                                 .order_by(Call.finished_at, Call.created_at, Call.id).limit(BACKFILL_LIMIT)).all()
    selected = 0
    for call in candidates:
        if not hold_row(session, Call, call.id):  # deleted since it was read (its draw would fail its foreign key)
            continue
        if _sampled(session, plan, call):
            add_reasons(session, call, ["sampled"])
            selected += 1
    record(session, user.name, "sampling_plan.created", after=plan_record(plan),
           detail=f"sampling plan {plan.id} for team {plan.team}: {selected} of {len(candidates)} call(s) scored "
                  f"since {plan.since.isoformat()} selected")
    session.commit()
    logger.info("sampling plan %s for team %s by %s: %d of %d recent calls selected", plan.id, plan.team, user.name,
                selected, len(candidates))
    return plan, selected


__all__ = ["BACKFILL_LIMIT", "DEFAULT_LOW_SCORE", "LOW_SCORE_KEY", "REASONS", "STATES", "TRANSITIONS", "QueueEntry",
           "QueuePage", "add_reasons", "assign", "change_state", "create_sampling_plan", "get_entry", "list_queue",
           "low_score_threshold", "note_dispute", "note_dispute_resolved", "note_scored"]
