"""Reviews: supervisor overrides, agent disputes and their resolution, a call's audit trail, calibration.

The use cases are in :mod:`qa_engine.app.reviews`: a call the user may not see answers 404, an action the
user's role may not take on a visible call 403, a clash with the review's state 409. Each change recomputes
the score and writes an audit entry in the same transaction. Here: parse, call, shape the answer.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from qa_engine.app import reviews
from qa_engine.app.access import as_utc
from qa_engine.app.models import Review

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


def outcome(done: reviews.Outcome) -> ReviewOutcome:
    row, call = done.finding, done.call
    return ReviewOutcome(review=review_public(done.review),
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
    return outcome(reviews.override(session, pack_cache, user, call_id, rule_id, body.status, body.comment))


@router.post("/calls/{call_id}/findings/{rule_id}/dispute", response_model=ReviewOutcome,
             status_code=status.HTTP_201_CREATED,
             responses={**NOT_VISIBLE, 403: {"description": "only the call's agent disputes"},
                        409: {"description": "an open dispute exists, or the finding is not applicable"}})
def dispute_finding(call_id: str, rule_id: str, body: DisputeCreate, session: SessionDep,
                    user: CurrentUser) -> ReviewOutcome:
    """The call's agent asks for the opposite of the finding's current status; a supervisor decides."""
    return outcome(reviews.dispute(session, user, call_id, rule_id, body.comment))


@router.get("/calls/{call_id}/reviews", response_model=list[ReviewPublic], responses=NOT_VISIBLE)
def call_reviews(call_id: str, session: SessionDep, user: CurrentUser) -> list[ReviewPublic]:
    """Overrides and disputes of one call, oldest first."""
    return [review_public(r) for r in reviews.call_reviews(session, user, call_id)]


@router.get("/calls/{call_id}/audit", response_model=list[AuditPublic], responses=NOT_VISIBLE)
def call_audit(call_id: str, session: SessionDep, user: CurrentUser) -> list[AuditPublic]:
    """The audit trail of one call (who, when, state before and after), oldest first."""
    return [AuditPublic(id=e.id, at=as_utc(e.at), actor=e.actor, action=e.action, rule_id=e.rule_id,  # type: ignore[arg-type]
                        before=e.before, after=e.after, detail=e.detail)
            for e in reviews.call_audit(session, user, call_id)]


@router.get("/reviews", response_model=ReviewList)
def list_reviews(session: SessionDep, user: CurrentUser,
                 state: Annotated[ReviewState | None, Query()] = None,
                 kind: Annotated[ReviewKind | None, Query()] = None,
                 limit: Annotated[int, Query(ge=1, le=200)] = 50,
                 offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> ReviewList:
    """The review queue: reviews on calls the user may see (``state=open`` for disputes awaiting a decision)."""
    rows, total = reviews.review_queue(session, user, state=state, kind=kind, limit=limit, offset=offset)
    return ReviewList(items=[review_public(r) for r in rows], total=total, limit=limit, offset=offset)


@router.get("/reviews/{review_id}", response_model=ReviewPublic, responses={404: {"description": "no such review"}})
def read_review(review_id: ReviewId, session: SessionDep, user: CurrentUser) -> ReviewPublic:
    return review_public(reviews.visible_review(session, user, review_id)[0])


RESOLVE_RESPONSES: Responses = {404: {"description": "no such review (or not yours)"},
                     403: {"description": "only supervisors and admins decide disputes"},
                     409: {"description": "the review is not an open dispute"}}


@router.post("/reviews/{review_id}/accept", response_model=ReviewOutcome, responses=RESOLVE_RESPONSES)
def accept_dispute(review_id: ReviewId, body: Resolution, session: SessionDep, user: CurrentUser,
                   pack_cache: PackCacheDep) -> ReviewOutcome:
    """Accept a dispute: the finding takes the requested status and the score is recomputed."""
    return outcome(reviews.resolve(session, pack_cache, user, review_id, body.comment, accept=True))


@router.post("/reviews/{review_id}/reject", response_model=ReviewOutcome, responses=RESOLVE_RESPONSES)
def reject_dispute(review_id: ReviewId, body: Resolution, session: SessionDep, user: CurrentUser,
                   pack_cache: PackCacheDep) -> ReviewOutcome:
    """Reject a dispute: the finding and the score stay as they are."""
    return outcome(reviews.resolve(session, pack_cache, user, review_id, body.comment, accept=False))


@router.get("/calibration", response_model=Calibration,
            responses={403: {"description": "supervisors and admins only"}, 404: {"description": "no such team"}})
def read_calibration(session: SessionDep, user: CurrentUser,
                     team: Annotated[str | None, Query(max_length=128)] = None,
                     date_from: Annotated[date | None, Query(alias="from")] = None,
                     date_to: Annotated[date | None, Query(alias="to")] = None) -> Calibration:
    """Per rule, how often human review kept the engine's status (reviewed findings of calls in the range)."""
    report = reviews.calibration_report(session, user, team, date_from, date_to)
    return Calibration(team=report.team, date_from=report.date_from, date_to=report.date_to,
                       reviewed=report.reviewed, agreed=report.agreed, agreement_rate=report.agreement_rate,
                       rules=[CalibrationRule(rule_id=r.rule_id, reviewed=r.reviewed, agreed=r.agreed,
                                              agreement_rate=r.agreement_rate) for r in report.rules])
