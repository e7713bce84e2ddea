"""Human review of findings: overrides, disputes and their resolution, with score recomputation and audit.

Every change to a finding goes through :func:`set_finding_status`, which recomputes the call's score
and grade with the call's pack (caps and zeroes of critical rules apply), rewrites the served report
and records an audit entry with the state before and after; the caller commits once, so the change,
the review and the audit entry land together or not at all.

The use cases below (:func:`override`, :func:`dispute`, :func:`resolve`, the review queue, a call's audit
trail and :func:`calibration_report`) decide who may do what: a call the user may not see is NotFound, an
action their role may not take on a visible call is Forbidden, a clash with the review's state is Conflict.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from qa_engine.app.access import get_visible_call, require_role, visible_to
from qa_engine.app.analysis import call_moment, check_dates, in_dates, require_team
from qa_engine.app.audit import record
from qa_engine.app.errors import Conflict, Forbidden, NotFound
from qa_engine.app.events import review_disputed, review_resolved
from qa_engine.app.first_use import hold_call
from qa_engine.app.local_time import local_day, service_zone
from qa_engine.app.models import AuditEntry, Call, FindingRow, Review, User, utcnow
from qa_engine.app.pack_cache import PackCache
from qa_engine.app.packs import resolve_pack
from qa_engine.app.review_queue import note_dispute, note_dispute_resolved
from qa_engine.errors import PackError
from qa_engine.pii import mask_optional, mask_text
from qa_engine.rules import Pack
from qa_engine.scoring import score_findings
from qa_engine.types import Finding

logger = logging.getLogger(__name__)

OPPOSITE = {"pass": "fail", "fail": "pass"}
SUPERVISORS = ("supervisor", "admin")


def get_finding(session: Session, call: Call, rule_id: str) -> FindingRow:
    """The finding ``rule_id`` of ``call``; 404 naming the rule when the call has no such finding."""
    row = session.scalar(select(FindingRow).where(FindingRow.call_pk == call.id, FindingRow.rule_id == rule_id))
    if row is None:
        raise NotFound(f"call {call.id!r} has no finding for rule {rule_id!r}")
    return row


def call_pack(session: Session, pack_cache: PackCache, call: Call) -> Pack:
    """The pack version the call was scored with (its caps and grade bands).

    Falls back to the pack's current version when that version is gone; 409 when the pack cannot be loaded at all.
    """
    try:
        return resolve_pack(session, pack_cache, pack_id=call.pack, team=call.team, language=call.language,
                            version=call.pack_version)
    except PackError as exc:
        if call.pack is None or call.pack_version is None:
            raise Conflict(f"cannot recompute the score of call {call.id!r}: {exc}") from None
        logger.warning("call %s: pack %s v%s unavailable (%s); recomputing with its current version",
                       call.id, call.pack, call.pack_version, exc)
    try:
        return resolve_pack(session, pack_cache, pack_id=call.pack, team=call.team, language=call.language)
    except PackError as exc:
        raise Conflict(f"cannot recompute the score of call {call.id!r}: {exc}") from None


def lock_call(session: Session, call: Call) -> None:
    """Reload ``call`` holding its row lock (PostgreSQL) so concurrent reviews of one call apply one after another."""
    session.refresh(call, with_for_update=True)


def _snapshot(call: Call, row: FindingRow) -> dict[str, Any]:
    return {"status": row.status, "score": call.score, "grade": call.grade}


def recompute(session: Session, call: Call, pack: Pack) -> None:
    """Score ``call`` again from its findings rows' current statuses; update columns and report document."""
    rows = list(session.scalars(select(FindingRow).where(FindingRow.call_pk == call.id)))
    findings = [Finding(rule_id=r.rule_id, status=r.status, severity=r.severity,  # type: ignore[arg-type]
                        weight=r.weight) for r in rows]
    score = score_findings(findings, pack)
    call.score = score
    call.grade = pack.grade_for(score)
    call.updated_at = utcnow()
    if call.report is not None:
        by_rule = {r.rule_id: r for r in rows}
        doc = dict(call.report)  # a new object: JSON columns are saved only when reassigned
        new_findings = []
        for item in doc.get("findings") or []:
            row = by_rule.get(str(item.get("rule_id"))) if isinstance(item, dict) else None
            if row is None:
                new_findings.append(item)
                continue
            updated = {**item, "status": row.status}
            if row.reviewed:
                updated.update(reviewed=True, auto_status=row.auto_status)
            new_findings.append(updated)
        doc["findings"] = new_findings
        doc["score"] = score
        doc["grade"] = call.grade
        doc["auto_score"] = call.auto_score
        call.report = doc


def set_finding_status(session: Session, pack_cache: PackCache, call: Call, row: FindingRow, new_status: str, *,
                       actor: str, action: str, detail: str | None) -> dict[str, Any]:
    """Set ``row`` to ``new_status`` (marking it reviewed), recompute the call and record the audit entry.

    Returns the finding's status and the call's score, grade and grade id before (what the ``review.resolved``
    event reports as ``previous``; the audit entry keeps status, score and grade).
    """
    pack = call_pack(session, pack_cache, call)
    lock_call(session, call)
    session.refresh(row)
    before = _snapshot(call, row)
    previous = {**before, "grade_id": call.grade_id}
    row.status = new_status
    row.reviewed = True
    session.flush()
    recompute(session, call, pack)
    record(session, actor, action, call_pk=call.id, rule_id=row.rule_id, before=before,
           after=_snapshot(call, row), detail=detail)
    logger.info("%s by %s on call %s rule %s: %s -> %s (score %s -> %s)", action, actor, call.id, row.rule_id,
                before["status"], row.status, before["score"], call.score)
    return previous


def open_dispute(session: Session, call: Call, rule_id: str) -> Review | None:
    return session.scalar(select(Review).where(Review.call_pk == call.id, Review.rule_id == rule_id,
                                               Review.kind == "dispute", Review.state == "open"))


def calibration(session: Session, where: list[Any], date_from: date | None,
                date_to: date | None) -> list[tuple[str, int, int]]:
    """Per rule (sorted): (rule_id, reviewed findings, findings whose final status equals the engine's), of the
    calls on the call centre's days from ``date_from`` to ``date_to``."""
    zone = service_zone(session)
    query = (select(FindingRow.rule_id, FindingRow.auto_status, FindingRow.status, Call.started_at, Call.created_at)
             .join(Call, Call.id == FindingRow.call_pk)
             .where(FindingRow.reviewed.is_(True), *where))
    counts: dict[str, list[int]] = {}
    for rule_id, auto_status, final_status, started_at, created_at in session.execute(query):
        if not in_dates(local_day(call_moment(started_at, created_at), zone), date_from, date_to):
            continue
        entry = counts.setdefault(rule_id, [0, 0])
        entry[0] += 1
        entry[1] += int(auto_status == final_status)
    return [(rule_id, n, agreed) for rule_id, (n, agreed) in sorted(counts.items())]


@dataclass(frozen=True)
class Outcome:
    """What a review action leaves behind: the review, the finding and the call (its score and grade now)."""

    review: Review
    call: Call
    finding: FindingRow


def override(session: Session, pack_cache: PackCache, user: User, call_id: str, rule_id: str, new_status: str,
             comment: str) -> Outcome:
    """A supervisor or admin sets a finding to pass or fail (the same status confirms it); applied at once."""
    comment = mask_text(comment)  # comments are stored (and shown, audited) PII-masked
    call = get_visible_call(session, user, call_id)
    require_role(user, *SUPERVISORS)
    hold_call(session, call.id)
    row = get_finding(session, call, rule_id)
    now = utcnow()
    review = Review(call_pk=call.id, rule_id=rule_id, kind="override", state="applied", author=user.name,
                    comment=comment, requested_status=new_status, resolved_by=user.name, resolved_at=now,
                    created_at=now)
    session.add(review)
    before = set_finding_status(session, pack_cache, call, row, new_status, actor=user.name,
                                action="finding.override", detail=comment)
    review_resolved(session, call, review, row, before)
    session.commit()
    return Outcome(review, call, row)


def dispute(session: Session, user: User, call_id: str, rule_id: str, comment: str) -> Outcome:
    """The call's agent asks for the opposite of the finding's current status; a supervisor decides later.

    Raises:
        Forbidden: not an agent, or not this call's agent.
        Conflict: the finding has no pass/fail result, or already has an open dispute.
    """
    comment = mask_text(comment)
    call = get_visible_call(session, user, call_id)
    require_role(user, "agent")
    if call.agent != user.name:
        raise Forbidden("only the call's agent may dispute it")
    hold_call(session, call.id)
    row = get_finding(session, call, rule_id)
    lock_call(session, call)  # one open dispute per finding, even with two requests at once
    session.refresh(row)
    if row.status not in OPPOSITE:
        raise Conflict(f"finding {rule_id!r} is {row.status}: there is no result to dispute")
    if open_dispute(session, call, rule_id) is not None:
        raise Conflict(f"finding {rule_id!r} already has an open dispute; wait for the supervisor's decision")
    review = Review(call_pk=call.id, rule_id=rule_id, kind="dispute", state="open", author=user.name,
                    comment=comment, requested_status=OPPOSITE[row.status], created_at=utcnow())
    session.add(review)
    snapshot = _snapshot(call, row)
    record(session, user.name, "dispute.opened", call_pk=call.id, rule_id=rule_id, before=snapshot, after=snapshot,
           detail=comment)
    note_dispute(session, call)  # the supervisors' review queue
    session.flush()  # the review's id, for the event
    review_disputed(session, call, review, row)
    session.commit()
    return Outcome(review, call, row)


def call_reviews(session: Session, user: User, call_id: str) -> list[Review]:
    """Overrides and disputes of one visible call, oldest first."""
    call = get_visible_call(session, user, call_id)
    return list(session.scalars(select(Review).where(Review.call_pk == call.id).order_by(Review.id)))


def call_audit(session: Session, user: User, call_id: str) -> list[AuditEntry]:
    """The audit trail of one visible call (who, when, state before and after), oldest first."""
    call = get_visible_call(session, user, call_id)
    return list(session.scalars(select(AuditEntry).where(AuditEntry.call_pk == call.id).order_by(AuditEntry.id)))


def review_queue(session: Session, user: User, *, state: str | None, kind: str | None, limit: int,
                 offset: int) -> tuple[list[Review], int]:
    """One page of the reviews on calls ``user`` may see (oldest first) and how many there are in all."""
    where = [visible_to(user)]
    if state is not None:
        where.append(Review.state == state)
    if kind is not None:
        where.append(Review.kind == kind)
    base = select(Review).join(Call, Call.id == Review.call_pk).where(*where)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.scalars(base.order_by(Review.created_at, Review.id).limit(limit).offset(offset))
    return list(rows), total


def visible_review(session: Session, user: User, review_id: int) -> tuple[Review, Call]:
    """A review on a call ``user`` may see, with the call; NotFound otherwise (ids cannot be probed)."""
    review = session.get(Review, review_id)
    call = session.scalar(select(Call).where(Call.id == review.call_pk, visible_to(user))) if review else None
    if review is None or call is None:
        raise NotFound(f"review {review_id} not found")
    return review, call


def resolve(session: Session, pack_cache: PackCache, user: User, review_id: int, comment: str | None, *,
            accept: bool) -> Outcome:
    """A supervisor or admin decides an open dispute: accepted, the finding takes the requested status.

    A rejection keeps the status but marks the finding reviewed: a human confirmed it (calibration counts it).

    Raises:
        NotFound: no such review on a call the user may see.
        Forbidden: not a supervisor or admin.
        Conflict: the review is not an open dispute (an override, or decided already, perhaps just now).
    """
    comment = mask_optional(comment)
    review, call = visible_review(session, user, review_id)
    require_role(user, *SUPERVISORS)
    hold_call(session, call.id)
    # a conditional update, so two supervisors deciding at once cannot both apply the dispute
    decided = session.execute(update(Review).where(Review.id == review.id, Review.kind == "dispute",
                                                   Review.state == "open")
                              .values(state="accepted" if accept else "rejected", resolved_by=user.name,
                                      resolution_comment=comment, resolved_at=utcnow()))
    if cast(CursorResult[Any], decided).rowcount != 1:
        message = f"review {review_id} is not an open dispute (it is a {review.kind}, {review.state})"
        session.rollback()
        raise Conflict(message)
    session.refresh(review)
    row = get_finding(session, call, review.rule_id)
    before = set_finding_status(session, pack_cache, call, row, review.requested_status if accept else row.status,
                                actor=user.name, action="dispute.accepted" if accept else "dispute.rejected",
                                detail=comment)
    note_dispute_resolved(session, call, user.name)
    review_resolved(session, call, review, row, before)
    session.commit()
    return Outcome(review, call, row)


@dataclass(frozen=True)
class RuleAgreement:
    """For one rule: reviewed findings, how many kept the engine's status, and the share (4 decimals)."""

    rule_id: str
    reviewed: int
    agreed: int
    agreement_rate: float | None


@dataclass(frozen=True)
class CalibrationReport:
    """How often human review kept the engine's status, in all and per rule."""

    team: str | None
    date_from: date | None
    date_to: date | None
    reviewed: int
    agreed: int
    agreement_rate: float | None
    rules: list[RuleAgreement]


def calibration_report(session: Session, user: User, team: str | None, date_from: date | None,
                       date_to: date | None) -> CalibrationReport:
    """Calibration of the calls ``user`` may see (supervisors and admins; a team they may not see is NotFound)."""
    require_role(user, *SUPERVISORS)
    check_dates(date_from, date_to)
    where = [visible_to(user)]
    if team is not None:
        require_team(session, user, team)
        where.append(Call.team == team)
    rules = [RuleAgreement(rule_id=r, reviewed=n, agreed=a, agreement_rate=round(a / n, 4))
             for r, n, a in calibration(session, where, date_from, date_to)]
    reviewed, agreed = sum(r.reviewed for r in rules), sum(r.agreed for r in rules)
    return CalibrationReport(team=team, date_from=date_from, date_to=date_to, reviewed=reviewed, agreed=agreed,
                             agreement_rate=round(agreed / reviewed, 4) if reviewed else None, rules=rules)


__all__ = ["OPPOSITE", "SUPERVISORS", "CalibrationReport", "Outcome", "RuleAgreement", "calibration",
           "calibration_report", "call_audit", "call_pack", "call_reviews", "dispute", "get_finding",
           "lock_call", "open_dispute", "override", "recompute", "resolve", "review_queue", "set_finding_status",
           "visible_review"]
