"""The audit trail: one row per consequential action, with who, when, and the state before and after."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from qa_engine.app.models import AuditEntry
from qa_engine.pii import mask_data, mask_optional


def record(session: Session, actor: str, action: str, *, call_pk: str | None = None, rule_id: str | None = None,
           before: Any = None, after: Any = None, detail: str | None = None) -> AuditEntry:
    """Add an audit entry to ``session`` (committed with the change it describes).

    ``before``, ``after`` and ``detail`` are stored PII-masked (:func:`qa_engine.pii.mask_data`): they quote
    comments, call ids and file names that a user typed.
    """
    entry = AuditEntry(actor=actor, action=action, call_pk=call_pk, rule_id=rule_id, before=mask_data(before),
                       after=mask_data(after), detail=mask_optional(detail))
    session.add(entry)
    return entry
