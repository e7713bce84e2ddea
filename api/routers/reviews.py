"""Reviews: supervisor overrides, agent disputes and their resolution, a call's audit trail, calibration.

Every call is looked up through :func:`get_visible_call` (404 for calls the user may not see); actions
the user's role may not take on a visible call answer 403. Each change recomputes the score and
writes an audit entry in the same transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, cast

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from qa_engine.app.access import as_utc, get_visible_call, require_role, visible_to
from qa_engine.app.analysis import check_dates, require_team
from qa_engine.app.audit import record
from qa_engine.app.models import AuditEntry, Call, FindingRow, Review, User, utcnow
from qa_engine.app.reviews import (
    OPPOSITE,
    calibration,
    conflict,
    get_finding,
    lock_call,
    open_dispute,
    set_finding_status,
)

from ..deps import CurrentUser, PackCacheDep, RowId, SessionDep
from ..review_schemas import (
    AuditPublic,
    Calibration,
    CalibrationRule,
    DisputeCreate,
    FindingState,
    OverrideCreate,
    Resolution,
    ReviewKind,
    ReviewList,
    ReviewOutcome,
    ReviewPublic,
    ReviewState,
)

router = APIRouter(tags=["reviews"])
SUPERVISORS = ("supervisor", "admin")
Responses = dict[int | str, dict[str, Any]]
ReviewId = RowId
NOT_VISIBLE: Responses = {404: {"description": "no such call or finding (or not yours)"}}


def review_public(review: Review) -> ReviewPublic:
    return ReviewPublic(id=review.id, call=review.call_pk, rule_id=review.rule_id, kind=review.kind,  # type: ignore[arg-type]
                        state=review.state, author=review.author, comment=review.comment,  # type: ignore[arg-type]
                        requested_status=review.requested_status,  # type: ignore[arg-type]
                        resolved_by=review.resolved_by, resolution_comment=review.resolution_comment,
                        created_at=as_utc(review.created_at) or review.created_at,
                        resolved_at=as_utc(review.resolved_at))


def outcome(review: Review, call: Call, row: FindingRow) -> ReviewOutcome:
    return ReviewOutcome(review=review_public(review),
                         finding=FindingState(rule_id=row.rule_id, auto_status=row.auto_status, status=row.status,
                                              reviewed=row.reviewed),
                         score=call.score, grade=call.grade, auto_score=call.auto_score)


@router.post("/calls/{call_id}/findings/{rule_id}/override", response_model=ReviewOutcome,
             status_code=status.HTTP_201_CREATED,
             responses={**NOT_VISIBLE, 403: {"description": "only supervisors and admins override"},
                        409: {"description": "the call's pack cannot be loaded to recompute the score"}})
def override_finding(call_id: str, rule_id: str, body: OverrideCreate, session: SessionDep, user: CurrentUser,
                     pack_cache: PackCacheDep) -> ReviewOutcome:
    """Set a finding to pass or fail (the same status confirms it); the score is recomputed at once."""
    call = get_visible_call(session, user, call_id)
    require_role(user, *SUPERVISORS)
    row = get_finding(session, call, rule_id)
    now = utcnow()
    review = Review(call_pk=call.id, rule_id=rule_id, kind="override", state="applied", author=user.name,
                    comment=body.comment, requested_status=body.status, resolved_by=user.name, resolved_at=now,
                    created_at=now)
    session.add(review)
    set_finding_status(session, pack_cache, call, row, body.status, actor=user.name, action="finding.override",
                       detail=body.comment)
    session.commit()
    return outcome(review, call, row)


@router.post("/calls/{call_id}/findings/{rule_id}/dispute", response_model=ReviewOutcome,
             status_code=status.HTTP_201_CREATED,
             responses={**NOT_VISIBLE, 403: {"description": "only the call's agent disputes"},
                        409: {"description": "an open dispute exists, or the finding is not applicable"}})
def dispute_finding(call_id: str, rule_id: str, body: DisputeCreate, session: SessionDep,
                    user: CurrentUser) -> ReviewOutcome:
    """The call's agent asks for the opposite of the finding's current status; a supervisor decides."""
    call = get_visible_call(session, user, call_id)
    require_role(user, "agent")
    if call.agent != user.name:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="only the call's agent may dispute it")
    row = get_finding(session, call, rule_id)
    lock_call(session, call)  # one open dispute per finding, even with two requests at once
    session.refresh(row)
    if row.status not in OPPOSITE:
        raise conflict(f"finding {rule_id!r} is {row.status}: there is no result to dispute")
    if open_dispute(session, call, rule_id) is not None:
        raise conflict(f"finding {rule_id!r} already has an open dispute; wait for the supervisor's decision")
    review = Review(call_pk=call.id, rule_id=rule_id, kind="dispute", state="open", author=user.name,
                    comment=body.comment, requested_status=OPPOSITE[row.status], created_at=utcnow())
    session.add(review)
    snapshot = {"status": row.status, "score": call.score, "grade": call.grade}
    record(session, user.name, "dispute.opened", call_pk=call.id, rule_id=rule_id, before=snapshot, after=snapshot,
           detail=body.comment)
    session.commit()
    return outcome(review, call, row)


@router.get("/calls/{call_id}/reviews", response_model=list[ReviewPublic], responses=NOT_VISIBLE)
def call_reviews(call_id: str, session: SessionDep, user: CurrentUser) -> list[ReviewPublic]:
    """Overrides and disputes of one call, oldest first."""
    call = get_visible_call(session, user, call_id)
    reviews = session.scalars(select(Review).where(Review.call_pk == call.id).order_by(Review.id))
    return [review_public(r) for r in reviews]


@router.get("/calls/{call_id}/audit", response_model=list[AuditPublic], responses=NOT_VISIBLE)
def call_audit(call_id: str, session: SessionDep, user: CurrentUser) -> list[AuditPublic]:
    """The audit trail of one call (who, when, state before and after), oldest first."""
    call = get_visible_call(session, user, call_id)
    entries = session.scalars(select(AuditEntry).where(AuditEntry.call_pk == call.id).order_by(AuditEntry.id))
    return [AuditPublic(id=e.id, at=as_utc(e.at), actor=e.actor, action=e.action, rule_id=e.rule_id,  # type: ignore[arg-type]
                        before=e.before, after=e.after, detail=e.detail) for e in entries]


@router.get("/reviews", response_model=ReviewList)
def list_reviews(session: SessionDep, user: CurrentUser,
                 state: Annotated[ReviewState | None, Query()] = None,
                 kind: Annotated[ReviewKind | None, Query()] = None,
                 limit: Annotated[int, Query(ge=1, le=200)] = 50,
                 offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> ReviewList:
    """The review queue: reviews on calls the user may see (``state=open`` for disputes awaiting a decision)."""
    where = [visible_to(user)]
    if state is not None:
        where.append(Review.state == state)
    if kind is not None:
        where.append(Review.kind == kind)
    base = select(Review).join(Call, Call.id == Review.call_pk).where(*where)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.scalars(base.order_by(Review.created_at, Review.id).limit(limit).offset(offset))
    return ReviewList(items=[review_public(r) for r in rows], total=total, limit=limit, offset=offset)


def _visible_review(session: Session, user: User, review_id: int) -> tuple[Review, Call]:
    review = session.get(Review, review_id)
    call = session.scalar(select(Call).where(Call.id == review.call_pk, visible_to(user))) if review else None
    if review is None or call is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=f"review {review_id} not found")
    return review, call


@router.get("/reviews/{review_id}", response_model=ReviewPublic, responses={404: {"description": "no such review"}})
def read_review(review_id: ReviewId, session: SessionDep, user: CurrentUser) -> ReviewPublic:
    return review_public(_visible_review(session, user, review_id)[0])


def _resolve(review_id: int, body: Resolution, session: Session, user: User, pack_cache: PackCacheDep,
             accept: bool) -> ReviewOutcome:
    review, call = _visible_review(session, user, review_id)
    require_role(user, *SUPERVISORS)
    # a conditional update, so two supervisors deciding at once cannot both apply the dispute
    decided = session.execute(update(Review).where(Review.id == review.id, Review.kind == "dispute",
                                                   Review.state == "open")
                              .values(state="accepted" if accept else "rejected", resolved_by=user.name,
                                      resolution_comment=body.comment, resolved_at=utcnow()))
    if cast(CursorResult[Any], decided).rowcount != 1:
        message = f"review {review_id} is not an open dispute (it is a {review.kind}, {review.state})"
        session.rollback()
        raise conflict(message)
    session.refresh(review)
    row = get_finding(session, call, review.rule_id)
    # a rejection keeps the status but marks the finding reviewed: a human confirmed it (calibration counts it)
    set_finding_status(session, pack_cache, call, row, review.requested_status if accept else row.status,
                       actor=user.name, action="dispute.accepted" if accept else "dispute.rejected",
                       detail=body.comment)
    session.commit()
    return outcome(review, call, row)


RESOLVE_RESPONSES: Responses = {404: {"description": "no such review (or not yours)"},
                     403: {"description": "only supervisors and admins decide disputes"},
                     409: {"description": "the review is not an open dispute"}}


@router.post("/reviews/{review_id}/accept", response_model=ReviewOutcome, responses=RESOLVE_RESPONSES)
def accept_dispute(review_id: ReviewId, body: Resolution, session: SessionDep, user: CurrentUser,
                   pack_cache: PackCacheDep) -> ReviewOutcome:
    """Accept a dispute: the finding takes the requested status and the score is recomputed."""
    return _resolve(review_id, body, session, user, pack_cache, accept=True)


@router.post("/reviews/{review_id}/reject", response_model=ReviewOutcome, responses=RESOLVE_RESPONSES)
def reject_dispute(review_id: ReviewId, body: Resolution, session: SessionDep, user: CurrentUser,
                   pack_cache: PackCacheDep) -> ReviewOutcome:
    """Reject a dispute: the finding and the score stay as they are."""
    return _resolve(review_id, body, session, user, pack_cache, accept=False)


@router.get("/calibration", response_model=Calibration,
            responses={403: {"description": "supervisors and admins only"}, 404: {"description": "no such team"}})
def read_calibration(session: SessionDep, user: CurrentUser,
                     team: Annotated[str | None, Query(max_length=128)] = None,
                     date_from: Annotated[date | None, Query(alias="from")] = None,
                     date_to: Annotated[date | None, Query(alias="to")] = None) -> Calibration:
    """Per rule, how often human review kept the engine's status (reviewed findings of calls in the range)."""
    require_role(user, *SUPERVISORS)
    check_dates(date_from, date_to)
    where = [visible_to(user)]
    if team is not None:
        require_team(session, user, team)
        where.append(Call.team == team)
    rules = [CalibrationRule(rule_id=r, reviewed=n, agreed=a, agreement_rate=round(a / n, 4))
             for r, n, a in calibration(session, where, date_from, date_to)]
    reviewed, agreed = sum(r.reviewed for r in rules), sum(r.agreed for r in rules)
    return Calibration(team=team, date_from=date_from, date_to=date_to, reviewed=reviewed, agreed=agreed,
                       agreement_rate=round(agreed / reviewed, 4) if reviewed else None, rules=rules)
