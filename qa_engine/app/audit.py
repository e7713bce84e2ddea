"""The audit trail: one row per consequential action, with who, when, and the state before and after."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from qa_engine.app.models import AuditEntry


def record(session: Session, actor: str, action: str, *, call_pk: str | None = None, rule_id: str | None = None,
           before: Any = None, after: Any = None, detail: str | None = None) -> AuditEntry:
    """Add an audit entry to ``session`` (committed with the change it describes)."""
    entry = AuditEntry(actor=actor, action=action, call_pk=call_pk, rule_id=rule_id, before=before, after=after,
                       detail=detail)
    session.add(entry)
    return entry
