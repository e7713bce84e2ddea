"""Service events (``call.scored``, ``finding.critical``) handed to the webhook dispatcher.

Scoring code calls :func:`call_scored` after storing a report, inside the same transaction, so an
event is queued if and only if the report is saved.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from qa_engine.app.models import Call


def call_scored(session: Session, call: Call) -> None:
    """Queue webhook deliveries for a newly scored call (and for each failed critical finding)."""
    from qa_engine.app.webhooks import enqueue_call_events

    enqueue_call_events(session, call)
