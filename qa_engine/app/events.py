"""Service events handed to the webhook dispatcher: a call scored, and people acting on it.

Each use case calls one function below after its change and before its commit, inside the same transaction,
so an event is queued if and only if what it reports is saved. A rescore scores again and sends ``call.scored``
again (there is no separate rescore event). The dispatcher module is imported only when an event is queued: it
pulls in the HTTP client.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from qa_engine.app.models import Call, Evaluation, EvaluationForm, FindingRow, Review

EVENT_CALL_SCORED = "call.scored"
EVENT_FINDING_CRITICAL = "finding.critical"
EVENT_REVIEW_DISPUTED = "review.disputed"
EVENT_REVIEW_RESOLVED = "review.resolved"
EVENT_EVALUATION_SUBMITTED = "evaluation.submitted"
#: every event a webhook may subscribe to (the API's validation lists the same names)
EVENTS = (EVENT_CALL_SCORED, EVENT_FINDING_CRITICAL, EVENT_REVIEW_DISPUTED, EVENT_REVIEW_RESOLVED,
          EVENT_EVALUATION_SUBMITTED)


def call_scored(session: Session, call: Call) -> None:
    """Queue webhook deliveries for a newly scored call (and for each failed critical finding)."""
    from qa_engine.app.webhooks import enqueue_call_events

    enqueue_call_events(session, call)


def review_disputed(session: Session, call: Call, review: Review, finding: FindingRow) -> None:
    """Queue ``review.disputed``: the call's agent opened ``review`` against ``finding``."""
    from qa_engine.app.webhooks import enqueue_event, review_payload

    payload = review_payload(EVENT_REVIEW_DISPUTED, call, review, finding, actor=review.author)
    enqueue_event(session, EVENT_REVIEW_DISPUTED, call, payload)


def review_resolved(session: Session, call: Call, review: Review, finding: FindingRow,
                    before: dict[str, Any]) -> None:
    """Queue ``review.resolved``: a dispute decided or an override applied; ``before``: status, score, grade, id."""
    from qa_engine.app.webhooks import enqueue_event, review_payload

    payload = review_payload(EVENT_REVIEW_RESOLVED, call, review, finding, actor=review.resolved_by or review.author,
                             before=before)
    enqueue_event(session, EVENT_REVIEW_RESOLVED, call, payload)


def evaluation_submitted(session: Session, call: Call, evaluation: Evaluation, form: EvaluationForm) -> None:
    """Queue ``evaluation.submitted``: a reviewer answered ``form`` on ``call`` (not a calibration answer)."""
    from qa_engine.app.webhooks import enqueue_event, evaluation_payload

    enqueue_event(session, EVENT_EVALUATION_SUBMITTED, call,
                  evaluation_payload(EVENT_EVALUATION_SUBMITTED, call, evaluation, form))
