"""Coaching: comments anchored at a moment of a call, the agent's replies, and an agent's coaching history.

The rules (who starts a thread, who replies, PII masking, limits, audit) are in :mod:`qa_engine.app.coaching`;
a call the user may not see answers 404 here as everywhere. Here: parse, call, shape the answer.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from qa_engine.app import coaching
from qa_engine.app.access import as_utc
from qa_engine.app.models import Call, CoachingComment

from ..coaching_schemas import (
    CallRef,
    CoachingList,
    CoachingNotePublic,
    CommentCreate,
    CommentEdit,
    CommentPublic,
    ThreadPublic,
)
from ..deps import CurrentUser, RowId, SessionDep

router = APIRouter(tags=["coaching"])
NOT_VISIBLE: dict[int | str, dict[str, Any]] = {404: {"description": "no such call or comment (or not yours)"}}


def comment_public(comment: CoachingComment) -> CommentPublic:
    return CommentPublic(**_comment_fields(comment))


def _comment_fields(comment: CoachingComment) -> dict[str, Any]:
    return {"id": comment.id, "call": comment.call_pk, "parent": comment.parent_id, "author": comment.author,
            "author_role": comment.author_role, "at": comment.at, "text": comment.text,
            "created_at": as_utc(comment.created_at) or comment.created_at, "edited_at": as_utc(comment.edited_at),
            "deleted_at": as_utc(comment.deleted_at), "deleted_by": comment.deleted_by}


def call_ref(call: Call) -> CallRef:
    return CallRef(id=call.id, call_id=call.call_id, agent=call.agent, team=call.team,
                   started_at=as_utc(call.started_at), created_at=as_utc(call.created_at) or call.created_at,
                   status=call.status, score=call.score, grade=call.grade, category=call.category,
                   duration=call.duration, grade_id=call.grade_id, category_id=call.category_id)


def note_public(note: coaching.CoachingNote) -> CoachingNotePublic:
    return CoachingNotePublic(**_comment_fields(note.comment), about=call_ref(note.call), replies=note.replies)


@router.post("/calls/{call_id}/comments", response_model=CommentPublic, status_code=status.HTTP_201_CREATED,
             responses={**NOT_VISIBLE, 403: {"description": "agents only reply (give 'parent')"},
                        409: {"description": "the call has too many comments, or the thread was deleted"},
                        422: {"description": "empty or too long text, or an anchor outside the call"}})
def add_comment(call_id: str, body: CommentCreate, session: SessionDep, user: CurrentUser) -> CommentPublic:
    """Comment on a call (supervisors, admins), at a moment (``at``, seconds) or on the whole call; or reply
    to a comment (``parent``; the call's agent too). The text is stored PII-masked."""
    return comment_public(coaching.add_comment(session, user, call_id, body.text, at=body.at, parent_id=body.parent))


@router.patch("/calls/{call_id}/comments/{comment_id}", response_model=CommentPublic,
              responses={**NOT_VISIBLE, 403: {"description": "not your comment"},
                         409: {"description": "the comment was deleted"},
                         422: {"description": "empty or too long text"}})
def edit_comment(call_id: str, comment_id: RowId, body: CommentEdit, session: SessionDep,
                 user: CurrentUser) -> CommentPublic:
    """Change the text of your own comment or reply; it is masked like a new one and marked ``edited_at``."""
    return comment_public(coaching.edit_comment(session, user, call_id, comment_id, body.text))


@router.delete("/calls/{call_id}/comments/{comment_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses={**NOT_VISIBLE, 403: {"description": "neither your comment nor are you an admin"},
                          409: {"description": "the comment was already deleted"}})
def delete_comment(call_id: str, comment_id: RowId, session: SessionDep, user: CurrentUser) -> Response:
    """Delete your own comment (an admin: any). A thread's first comment with replies stays as a tombstone
    (text "deleted", ``deleted_at``/``deleted_by``) so the replies keep their thread."""
    coaching.delete_comment(session, user, call_id, comment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/calls/{call_id}/comments", response_model=list[ThreadPublic], responses=NOT_VISIBLE)
def call_comments(call_id: str, session: SessionDep, user: CurrentUser) -> list[ThreadPublic]:
    """The coaching threads of a call, oldest first, each with its replies."""
    return [ThreadPublic(**_comment_fields(t.comment), replies=[comment_public(r) for r in t.replies])
            for t in coaching.call_threads(session, user, call_id)]


@router.get("/coaching", response_model=CoachingList,
            responses={404: {"description": "no such agent (or not yours)"}})
def coaching_history(session: SessionDep, user: CurrentUser,
                     agent: Annotated[str | None, Query(max_length=128,
                                                        description="the agent whose calls (default: all "
                                                                    "visible calls; an agent's own)")] = None,
                     limit: Annotated[int, Query(ge=1, le=200)] = 50,
                     offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> CoachingList:
    """Coaching threads on the calls the user may see, newest first, with their call and reply count."""
    notes, total = coaching.history(session, user, agent, limit=limit, offset=offset)
    return CoachingList(items=[note_public(n) for n in notes], total=total, limit=limit, offset=offset)
