"""What deleting a call removes, in one place: ``DELETE /calls/{id}`` and the retention purge both come here.

A call goes with every row that refers to it (findings, reviews, evaluations, coaching comments, search index,
review queue, sampling draws: ``ON DELETE CASCADE``), its queued jobs and its recording, the original and every
redacted copy (:func:`qa_engine.app.audio_redaction.remove_call_audio`), unless another call (a duplicate) uses
it. The audit trail keeps a ``call.delete`` entry per call. A recording alone goes the same way
(:func:`delete_recordings`), the call saying when (``audio_deleted_at``).

Files are removed after the commit: a rollback never leaves a call without its recording.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .audio_redaction import remove_call_audio
from .audit import record
from .models import Call, Job, utcnow

#: the call's fields a ``call.delete`` audit entry keeps (what was deleted, without its content)
AUDITED_FIELDS = ("call_id", "agent", "team", "status", "score", "grade", "source")


def delete_calls(session: Session, calls: Sequence[Call], actor: str, *, detail: str | None = None) -> int:
    """Delete ``calls`` with all that goes with them, each audited as ``call.delete`` by ``actor``. Commits.

    Returns how many were deleted.
    """
    if not calls:
        return 0
    for call in calls:
        record(session, actor, "call.delete", call_pk=call.id, before=_audited(call), detail=detail)
    ids = [call.id for call in calls]
    paths = _audio_paths(calls)
    session.execute(delete(Job).where(Job.call_pk.in_(ids), Job.status == "queued"))
    session.execute(delete(Call).where(Call.id.in_(ids)))
    _commit_then_remove_audio(session, paths)
    return len(ids)


def delete_recordings(session: Session, calls: Sequence[Call], actor: str, *, detail: str | None = None) -> int:
    """Delete the recordings of ``calls`` and keep the calls (report, findings, score), each audited as
    ``audio.delete`` by ``actor``; ``audio_deleted_at`` says when. Commits. Returns how many calls lost theirs."""
    with_audio = [call for call in calls if call.audio_path]
    if not with_audio:
        return 0
    paths = _audio_paths(with_audio)
    now = utcnow()
    for call in with_audio:
        record(session, actor, "audio.delete", call_pk=call.id,
               before={"audio_filename": call.audio_filename, "audio_bytes": call.audio_bytes}, detail=detail)
        call.audio_path, call.audio_deleted_at, call.updated_at = None, now, now
    _commit_then_remove_audio(session, paths)
    return len(with_audio)


def _audited(call: Call) -> dict[str, Any]:
    return {name: getattr(call, name) for name in AUDITED_FIELDS}


def _audio_paths(calls: Iterable[Call]) -> set[str]:
    return {call.audio_path for call in calls if call.audio_path}


def _commit_then_remove_audio(session: Session, paths: set[str]) -> None:
    """Commit, then remove the recordings no call uses any more (a duplicate may share one)."""
    session.flush()
    shared = set(session.scalars(select(Call.audio_path).where(Call.audio_path.in_(paths)))) if paths else set()
    session.commit()
    for path in sorted(paths - shared):
        remove_call_audio(session, path)  # and the unredacted original, when kept and unused


__all__ = ["AUDITED_FIELDS", "delete_calls", "delete_recordings"]
