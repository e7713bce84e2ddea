"""The retention policy: calls and recordings are not kept forever (PIPL / GDPR storage limits). Opt-in.

``QA_ENGINE_RETENTION_DAYS`` purges whole calls stored (``created_at``) longer ago, exactly as ``DELETE
/calls/{id}`` removes them (:func:`qa_engine.app.call_deletion.delete_calls`); ``QA_ENGINE_AUDIO_RETENTION_DAYS``
deletes only the recordings, the calls with their reports and scores stay. Calls still queued or processing are
never purged (their job owns them). :func:`purge` walks the calls in id order a batch at a time (bounded memory,
each batch committed, an interrupted run is simply run again) and writes one audit entry per run; the workers call
:func:`purge_if_due`, which one ``maintenance_runs`` row makes one run an hour whatever the number of workers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, CursorResult, func, or_, select, update
from sqlalchemy.orm import Session

from .audit import record
from .call_deletion import delete_calls, delete_recordings
from .models import Call, MaintenanceRun, utcnow
from .settings import Settings

logger = logging.getLogger(__name__)

ACTOR = "retention"
AUDIT_ACTION = "retention.purge"
TASK = "retention"  # its row in maintenance_runs
DEFAULT_BATCH = 200
PURGE_EVERY_S = 3600.0
#: the statuses of calls a purge may touch: a queued or processing call belongs to its job
SETTLED = ("done", "failed")


@dataclass(frozen=True)
class RetentionPolicy:
    """How many days whole calls and recordings are kept (None: forever)."""

    call_days: int | None = None
    audio_days: int | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionPolicy:
        return cls(settings.retention_days, settings.audio_retention_days)

    @property
    def enabled(self) -> bool:
        return bool(self.call_days or self.audio_days)


@dataclass(frozen=True)
class PurgeSummary:
    """What a run removed (or would remove, ``dry_run``): calls and recordings, and their cut-offs (stored before)."""

    calls: int
    recordings: int
    calls_before: datetime | None
    audio_before: datetime | None
    dry_run: bool = False

    def audit_document(self) -> dict[str, Any]:
        return {"calls": self.calls, "recordings": self.recordings,
                "calls_before": _iso(self.calls_before), "recordings_before": _iso(self.audio_before)}



def purge(session: Session, policy: RetentionPolicy, *, dry_run: bool = False, batch: int = DEFAULT_BATCH,
          now: datetime | None = None, actor: str = ACTOR) -> PurgeSummary:
    """Apply ``policy`` to the stored calls: first the whole calls past ``call_days``, then the recordings past
    ``audio_days`` of the calls that stay. A dry run counts and changes nothing (no audit entry either)."""
    now = now or utcnow()
    calls_before = now - timedelta(days=policy.call_days) if policy.call_days else None
    audio_before = now - timedelta(days=policy.audio_days) if policy.audio_days else None
    calls_where = _calls_past(calls_before)
    audio_where = _recordings_past(audio_before, calls_before)
    if dry_run:
        return PurgeSummary(_count(session, calls_where), _count(session, audio_where), calls_before, audio_before,
                            dry_run=True)
    detail = _describe(calls_before, audio_before)
    calls = _in_batches(session, calls_where, batch, lambda rows: delete_calls(session, rows, actor, detail=detail))
    recordings = _in_batches(session, audio_where, batch,
                             lambda rows: delete_recordings(session, rows, actor, detail=detail))
    summary = PurgeSummary(calls, recordings, calls_before, audio_before)
    record(session, actor, AUDIT_ACTION, after=summary.audit_document(), detail=detail)
    session.commit()
    logger.info("%s: %d call(s) and %d recording(s) deleted", detail, calls, recordings)
    return summary


def purge_if_due(session: Session, policy: RetentionPolicy, *, every_s: float = PURGE_EVERY_S,
                 now: datetime | None = None) -> PurgeSummary | None:
    """:func:`purge` when the policy is on and no run started in the last ``every_s`` seconds (None otherwise).

    The run is claimed by moving ``maintenance_runs.started_at`` forward in one UPDATE that only matches a run
    that is due: of two workers asking at once, one gets the row, the other nothing.
    """
    if not policy.enabled:
        return None
    now = now or utcnow()
    claimed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(MaintenanceRun)
        .where(MaintenanceRun.task == TASK, or_(MaintenanceRun.started_at.is_(None),
                                                MaintenanceRun.started_at <= now - timedelta(seconds=every_s)))
        .values(started_at=now).execution_options(synchronize_session=False))
    session.commit()
    if claimed.rowcount != 1:
        return None
    return purge(session, policy, now=now)


def _calls_past(before: datetime | None) -> list[ColumnElement[bool]] | None:
    if before is None:
        return None
    return [Call.created_at < before, Call.status.in_(SETTLED)]


def _recordings_past(before: datetime | None, calls_before: datetime | None) -> list[ColumnElement[bool]] | None:
    """Calls with a recording older than ``before``, not among those the whole-call purge takes (a dry run counts
    each call once)."""
    if before is None:
        return None
    where = [Call.created_at < before, Call.status.in_(SETTLED), Call.audio_path.is_not(None)]
    return where if calls_before is None else [*where, Call.created_at >= calls_before]


def _count(session: Session, where: list[ColumnElement[bool]] | None) -> int:
    if where is None:
        return 0
    return session.scalar(select(func.count()).select_from(Call).where(*where)) or 0


def _in_batches(session: Session, where: list[ColumnElement[bool]] | None, batch: int,
                remove: Callable[[Sequence[Call]], int]) -> int:
    """Apply ``remove`` (which commits) to the calls matching ``where``, ``batch`` at a time in id order."""
    if where is None:
        return 0
    done, last = 0, ""
    while rows := session.scalars(select(Call).where(*where, Call.id > last).order_by(Call.id).limit(batch)).all():
        last = rows[-1].id
        done += remove(rows)
        session.expunge_all()  # memory stays bounded by one batch
    return done


def _describe(calls_before: datetime | None, audio_before: datetime | None) -> str:
    """The cut-offs, as the audit entries of a run say them."""
    parts = [f"calls stored before {_iso(calls_before)}" if calls_before else "",
             f"recordings stored before {_iso(audio_before)}" if audio_before else ""]
    return "retention policy: " + "; ".join(p for p in parts if p)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


__all__ = ["ACTOR", "AUDIT_ACTION", "DEFAULT_BATCH", "PURGE_EVERY_S", "PurgeSummary", "RetentionPolicy", "purge",
           "purge_if_due"]
