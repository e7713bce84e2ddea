"""The review queue (supervisor inbox): list, assign, move along ``open -> in_review -> done``.

The use cases are in :mod:`qa_engine.app.review_queue` (agents 403; a call the user may not see, or one not in the
queue, 404; a move the item's state does not allow 409). Here: parse, call, shape the answer.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from qa_engine.app import review_queue
from qa_engine.app.access import as_utc

from ..deps import CurrentUser, SessionDep
from ..review_queue_schemas import Assignment, ItemState, QueueItem, QueueList, Reason, StateChange

router = APIRouter(prefix="/review-queue", tags=["review queue"])
Responses = dict[int | str, dict[str, Any]]
ITEM_RESPONSES: Responses = {403: {"description": "supervisors and admins only"},
                             404: {"description": "no such call in the queue (or not yours)"}}


def queue_item(entry: review_queue.QueueEntry) -> QueueItem:
    item, call = entry.item, entry.call
    return QueueItem(id=call.id, call_id=call.call_id, agent=call.agent, team=call.team,
                     reasons=review_queue.parse_reasons(item.reasons),  # type: ignore[arg-type]
                     assigned_to=item.assigned_to, state=item.state,  # type: ignore[arg-type]
                     open_disputes=entry.open_disputes, score=call.score, grade=call.grade, grade_id=call.grade_id,
                     started_at=as_utc(call.started_at), created_at=as_utc(item.created_at) or item.created_at,
                     updated_at=as_utc(item.updated_at) or item.updated_at, done_by=item.done_by,
                     done_at=as_utc(item.done_at))


@router.get("", response_model=QueueList,
            responses={403: {"description": "supervisors and admins only"}, 404: {"description": "no such team"}})
def list_queue(session: SessionDep, user: CurrentUser,
               team: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
               state: Annotated[ItemState | None, Query()] = None,
               reason: Annotated[Reason | None, Query()] = None,
               assigned_to: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
               limit: Annotated[int, Query(ge=1, le=200)] = 50,
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> QueueList:
    """Calls awaiting a person's review, oldest first: open disputes, critical failures, low scores, samples."""
    page = review_queue.list_queue(session, user, team=team, state=state, reason=reason, assigned_to=assigned_to,
                                   limit=limit, offset=offset)
    return QueueList(items=[queue_item(e) for e in page.entries], total=page.total, limit=limit, offset=offset)


@router.get("/{call_id}", response_model=QueueItem, responses=ITEM_RESPONSES)
def read_item(call_id: str, session: SessionDep, user: CurrentUser) -> QueueItem:
    return queue_item(review_queue.get_entry(session, user, call_id[:64]))


@router.post("/{call_id}/assign", response_model=QueueItem,
             responses={**ITEM_RESPONSES, 409: {"description": "the review is done"},
                        422: {"description": "the reviewer is not a supervisor of the team or an admin"}})
def assign_item(call_id: str, body: Assignment, session: SessionDep, user: CurrentUser) -> QueueItem:
    """Assign the call's review to a supervisor of its team or an admin (``null``: unassign). Audited."""
    return queue_item(review_queue.assign(session, user, call_id[:64], body.reviewer))


@router.post("/{call_id}/state", response_model=QueueItem,
             responses={**ITEM_RESPONSES, 409: {"description": "a move the review's state does not allow, or done "
                                                               "while a dispute is open"}})
def change_state(call_id: str, body: StateChange, session: SessionDep, user: CurrentUser) -> QueueItem:
    """Start (``in_review``, assigns an unassigned item to you), finish (``done``), give back or reopen (``open``)."""
    return queue_item(review_queue.change_state(session, user, call_id[:64], body.state))
