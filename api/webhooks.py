"""Webhook deliveries (placeholder until the webhooks work lands: queues nothing)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from .models import Call


def enqueue_call_events(session: Session, call: Call) -> None:
    """Queue ``call.scored`` / ``finding.critical`` deliveries for ``call``."""
    del session, call
