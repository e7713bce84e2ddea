"""The same recording with the same pack version is transcribed and scored once.

A *twin* is another call with the same content hash, pack id and pack version (and a compatible agent
channel) that is queued, processing or done. The upload answers with a visible twin instead of storing a
new call; otherwise a done twin's automatic report is copied into the new call without running ASR.

An upload looks for its twin under :func:`hold_content`, held until it commits: the same content uploaded twice at
the same instant (a double click, a client retrying) is then one call, not two.
"""

from __future__ import annotations

import copy

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from qa_engine.app.first_use import insert_if_absent, locked_row
from qa_engine.app.models import Call, ContentLock, FindingRow, utcnow
from qa_engine.app.report_store import after_report

ACTIVE = ("queued", "processing", "done")


def hold_content(session: Session, content_hash: str) -> None:
    """Take the lock on ``content_hash`` until commit; call it before :func:`find_twin` in an upload.

    :func:`find_twin` reads committed calls only: without the lock, an identical upload in flight is not seen and
    each stores a call. With it, such an upload waits for the one before it to commit (then finds its call) or to
    roll back. PostgreSQL: a row lock (only uploads of this content wait); SQLite: the write lock.
    """
    insert_if_absent(session, ContentLock, content_hash=content_hash)
    locked_row(session, ContentLock, content_hash)


def find_twin(session: Session, *, content_hash: str, pack: str, pack_version: str, agent_channel: int | None,
              exclude: str | None = None, statuses: tuple[str, ...] = ACTIVE) -> Call | None:
    """The oldest call with this content and pack version (done ones first), or None."""
    query = select(Call).where(Call.content_hash == content_hash, Call.pack == pack,
                               Call.pack_version == pack_version, Call.status.in_(statuses))
    if exclude is not None:
        query = query.where(Call.id != exclude)
    if agent_channel is not None:
        query = query.where(Call.agent_channel == agent_channel)
    twins = session.scalars(query.order_by(Call.created_at, Call.id)).all()
    done = [c for c in twins if c.status == "done"]
    best = done or list(twins)
    return best[0] if best else None


def copy_report(session: Session, target: Call, twin: Call) -> None:
    """Give ``target`` the automatic report of ``twin`` (status ``done``); the caller commits.

    The engine's judgement is copied (``auto_score`` and each finding's ``auto_status``), never the
    twin's reviews: a review is about one call, not about the recording.
    """
    doc = copy.deepcopy(twin.report) if twin.report is not None else None
    if doc is not None:
        doc["call_id"] = target.call_id
    target.report = doc
    target.status, target.error = "done", None
    for field in ("language", "pack", "pack_version", "duration", "auto_score", "category", "raw_transcript"):
        setattr(target, field, copy.deepcopy(getattr(twin, field)))
    target.score = twin.auto_score
    target.grade = doc.get("grade") if doc else twin.grade
    if twin.agent_channel is not None:
        target.agent_channel = twin.agent_channel
    now = utcnow()
    target.finished_at = target.updated_at = now
    rows = session.scalars(select(FindingRow).where(FindingRow.call_pk == twin.id)).all()
    session.execute(delete(FindingRow).where(FindingRow.call_pk == target.id))
    session.add_all(FindingRow(call_pk=target.id, rule_id=r.rule_id, severity=r.severity, weight=r.weight,
                               auto_status=r.auto_status, status=r.auto_status, reviewed=False) for r in rows)
    session.flush()
    after_report(session, target)
