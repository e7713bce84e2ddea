"""Human review of findings: overrides, disputes and their resolution, with score recomputation and audit.

Every change to a finding goes through :func:`set_finding_status`, which recomputes the call's score
and grade with the call's pack (caps and zeroes of critical rules apply), rewrites the served report
and records an audit entry with the state before and after; the caller commits once, so the change,
the review and the audit entry land together or not at all.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_engine.app.analysis import call_moment, in_dates
from qa_engine.app.audit import record
from qa_engine.app.errors import Conflict, NotFound
from qa_engine.app.models import Call, FindingRow, Review, utcnow
from qa_engine.app.pack_cache import PackCache
from qa_engine.app.packs import resolve_pack
from qa_engine.errors import PackError
from qa_engine.rules import Pack
from qa_engine.scoring import score_findings
from qa_engine.types import Finding

logger = logging.getLogger(__name__)

OPPOSITE = {"pass": "fail", "fail": "pass"}


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
                       actor: str, action: str, detail: str | None) -> None:
    """Set ``row`` to ``new_status`` (marking it reviewed), recompute the call and record the audit entry."""
    pack = call_pack(session, pack_cache, call)
    lock_call(session, call)
    session.refresh(row)
    before = _snapshot(call, row)
    row.status = new_status
    row.reviewed = True
    session.flush()
    recompute(session, call, pack)
    record(session, actor, action, call_pk=call.id, rule_id=row.rule_id, before=before,
           after=_snapshot(call, row), detail=detail)
    logger.info("%s by %s on call %s rule %s: %s -> %s (score %s -> %s)", action, actor, call.id, row.rule_id,
                before["status"], row.status, before["score"], call.score)


def open_dispute(session: Session, call: Call, rule_id: str) -> Review | None:
    return session.scalar(select(Review).where(Review.call_pk == call.id, Review.rule_id == rule_id,
                                               Review.kind == "dispute", Review.state == "open"))


def conflict(message: str) -> Conflict:
    return Conflict(message)


def calibration(session: Session, where: list[Any], date_from: date | None,
                date_to: date | None) -> list[tuple[str, int, int]]:
    """Per rule (sorted): (rule_id, reviewed findings, findings whose final status equals the engine's)."""
    query = (select(FindingRow.rule_id, FindingRow.auto_status, FindingRow.status, Call.started_at, Call.created_at)
             .join(Call, Call.id == FindingRow.call_pk)
             .where(FindingRow.reviewed.is_(True), *where))
    counts: dict[str, list[int]] = {}
    for rule_id, auto_status, final_status, started_at, created_at in session.execute(query):
        if not in_dates(call_moment(started_at, created_at), date_from, date_to):
            continue
        entry = counts.setdefault(rule_id, [0, 0])
        entry[0] += 1
        entry[1] += int(auto_status == final_status)
    return [(rule_id, n, agreed) for rule_id, (n, agreed) in sorted(counts.items())]


__all__ = ["OPPOSITE", "calibration", "call_pack", "conflict", "get_finding", "lock_call", "open_dispute",
           "recompute", "set_finding_status"]
