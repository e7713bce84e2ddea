"""Coaching comments: a supervisor's note anchored at a moment of a call, and the agent's replies.

Who may do what is decided with :mod:`qa_engine.app.access`, like every call read: a call the user may not see
is NotFound (another agent's call included). On a visible call, supervisors and admins start threads; the call's
agent (and staff) reply. Replies hang off the thread's first comment, so a thread is never deeper than two levels.

Comments are typed by people and may quote a customer's number: the text is PII-masked before it is stored, so
no view, export or audit entry can show the identifier. Each comment is audited (``coaching.comment``).

A comment's author may edit it (the new text is cleaned like a new one, ``edited_at`` is set) or delete it; an
admin may delete any (moderation). Deleting a thread's first comment that has replies leaves a tombstone (text
:data:`TOMBSTONE`, ``deleted_at``/``deleted_by``) so the replies keep their thread. Both are audited
(``coaching.edit``, ``coaching.delete``) with the masked text before and after. A tombstone's thread takes no
new replies (409).
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from qa_engine.app.access import get_visible_call, require_author, visible_to
from qa_engine.app.audit import record
from qa_engine.app.errors import Conflict, Forbidden, Invalid, NotFound
from qa_engine.app.first_use import hold_call
from qa_engine.app.models import Call, CoachingComment, User, utcnow
from qa_engine.app.scorecards import require_agent
from qa_engine.pii import mask_text

STAFF = ("supervisor", "admin")
#: The longest comment (characters, after trimming): a paragraph of coaching, not a document.
MAX_TEXT_CHARS = 2000
#: Comments per call (threads and replies together): a thread is a conversation, not a log.
MAX_COMMENTS_PER_CALL = 500
#: How far past the call's known duration an anchor may point (players report a slightly longer end).
AT_SLACK_S = 1.0
#: The text of a deleted first comment kept for its replies (the words themselves are gone).
TOMBSTONE = "deleted"


@dataclass(frozen=True)
class Thread:
    """A thread: its first comment (a supervisor's, perhaps anchored) and the replies, oldest first."""

    comment: CoachingComment
    replies: list[CoachingComment] = field(default_factory=list)


@dataclass(frozen=True)
class CoachingNote:
    """A thread's first comment in an agent's coaching history, with the call it is about."""

    comment: CoachingComment
    call: Call
    replies: int


def clean_text(text: str) -> str:
    """The comment as stored: trimmed, control characters other than line breaks and tabs removed, PII-masked.

    Raises:
        Invalid: empty after trimming, or longer than :data:`MAX_TEXT_CHARS`.
    """
    kept = "".join(c for c in text if c in "\n\t" or unicodedata.category(c)[0] != "C").strip()
    if not kept:
        raise Invalid("field 'text': a comment needs some text")
    if len(kept) > MAX_TEXT_CHARS:
        raise Invalid(f"field 'text': at most {MAX_TEXT_CHARS} characters (got {len(kept)})")
    return mask_text(kept)


def check_at(at: float | None, call: Call) -> float | None:
    """The anchor in seconds, rounded to 0.1 s; 422 when negative, not finite or past the end of the call."""
    if at is None:
        return None
    if not math.isfinite(at) or at < 0:
        raise Invalid(f"field 'at': seconds from the start of the call, 0 or more (got {at!r})")
    duration = call.duration or (call.report or {}).get("duration")
    if isinstance(duration, int | float) and at > float(duration) + AT_SLACK_S:
        raise Invalid(f"field 'at': {at:g} s is past the end of the call ({float(duration):g} s)")
    return round(at, 1)


def _open_thread_root(session: Session, call: Call, parent_id: int) -> CoachingComment:
    """The first comment of the thread a reply to ``parent_id`` joins; 409 when it is a tombstone.

    A deleted thread keeps its replies readable, but its first comment's words are gone: a new reply would answer
    nothing the reader can see, so the thread is closed.
    """
    root = _thread_root(session, call, parent_id)
    if root.deleted_at is not None:
        raise Conflict(f"comment {root.id} was deleted: its thread takes no new replies")
    return root


def _thread_root(session: Session, call: Call, parent_id: int) -> CoachingComment:
    """The first comment of the thread a reply to ``parent_id`` joins, locked until the reply is committed.

    Why the lock: deleting a thread's last comment takes the same lock (:func:`_locked`), so a reply and a delete
    of its thread run one after the other on PostgreSQL: the reply keeps the thread (a tombstone), or it finds it
    gone (404). SQLite has no row locks: there the reply holds the write lock already (:func:`hold_call`), so the
    thread cannot be deleted between this read and the reply's insert.
    """
    parent = _locked(session, parent_id)
    if parent is None or parent.call_pk != call.id:
        raise NotFound(f"comment {parent_id} not found on call {call.id!r}")
    if parent.parent_id is not None:  # a reply to a reply joins the same thread
        root = _locked(session, parent.parent_id)
        if root is not None:
            return root
    return parent


def _locked(session: Session, comment_id: int) -> CoachingComment | None:
    """The comment, read again from the database and locked for this transaction (PostgreSQL: FOR UPDATE)."""
    return session.get(CoachingComment, comment_id, with_for_update=True, populate_existing=True)


def add_comment(session: Session, user: User, call_id: str, text: str, *, at: float | None = None,
                parent_id: int | None = None) -> CoachingComment:
    """Add a coaching comment (supervisors, admins) or a reply (also the call's agent) to a visible call.

    Raises:
        NotFound: the call (or the parent comment on it) is not visible to ``user``.
        Forbidden: an agent starting a thread (agents only reply).
        Invalid: empty or too long text, a bad anchor.
        Conflict: the call already has :data:`MAX_COMMENTS_PER_CALL` comments, or the thread was deleted (its
            first comment is a tombstone).
    """
    cleaned = clean_text(text)
    call = get_visible_call(session, user, call_id)
    if user.role not in STAFF and parent_id is None:  # an agent sees only their own calls (get_visible_call)
        raise Forbidden("agents reply to a coaching comment (give 'parent'); supervisors and admins start threads")
    hold_call(session, call.id)
    root = _open_thread_root(session, call, parent_id) if parent_id is not None else None
    anchor = check_at(at, call)
    count = session.scalar(select(func.count()).select_from(CoachingComment)
                           .where(CoachingComment.call_pk == call.id)) or 0
    if count >= MAX_COMMENTS_PER_CALL:
        raise Conflict(f"call {call.id!r} already has {count} comments (the limit is {MAX_COMMENTS_PER_CALL})")
    comment = CoachingComment(call_pk=call.id, parent_id=root.id if root else None, author=user.name,
                              author_role=user.role, at=anchor, text=cleaned, created_at=utcnow())
    session.add(comment)
    session.flush()
    record(session, user.name, "coaching.reply" if root else "coaching.comment", call_pk=call.id,
           after={"comment": comment.id, "parent": comment.parent_id, "at": anchor}, detail=cleaned)
    session.commit()
    return comment


def _changeable_comment(session: Session, user: User, call_id: str, comment_id: int) -> CoachingComment:
    """The comment ``comment_id`` of a visible call, locked for the change; 404 if not there, 409 if deleted."""
    call = get_visible_call(session, user, call_id)
    hold_call(session, call.id)
    comment = _locked(session, comment_id)
    if comment is None or comment.call_pk != call.id:
        raise NotFound(f"comment {comment_id} not found on call {call.id!r}")
    if comment.deleted_at is not None:
        raise Conflict(f"comment {comment_id} was deleted")
    return comment


def edit_comment(session: Session, user: User, call_id: str, comment_id: int, text: str) -> CoachingComment:
    """Replace the text of ``user``'s own comment (cleaned and masked like a new one); unchanged text is no edit.

    Raises:
        Invalid: empty or too long text.
        NotFound: the call is not visible to ``user``, or the comment is not on it.
        Forbidden: ``user`` did not write the comment.
        Conflict: the comment was deleted (a tombstone).
    """
    cleaned = clean_text(text)
    comment = _changeable_comment(session, user, call_id, comment_id)
    require_author(user, comment.author, "edit")
    if cleaned != comment.text:
        before = comment.text
        comment.text, comment.edited_at = cleaned, utcnow()
        record(session, user.name, "coaching.edit", call_pk=comment.call_pk,
               before={"comment": comment.id, "text": before}, after={"comment": comment.id, "text": cleaned})
        session.commit()
    return comment


def _has_replies(session: Session, comment: CoachingComment) -> bool:
    return session.scalar(select(CoachingComment.id).where(CoachingComment.parent_id == comment.id).limit(1)) \
        is not None


def _remove(session: Session, comment: CoachingComment) -> int | None:
    """Delete ``comment``; also its thread's tombstone when this was the last reply. The removed tombstone's id."""
    root = _locked(session, comment.parent_id) if comment.parent_id is not None else None
    session.delete(comment)
    session.flush()
    if root is None or root.deleted_at is None or _has_replies(session, root):
        return None
    session.delete(root)
    return root.id


def delete_comment(session: Session, user: User, call_id: str, comment_id: int) -> None:
    """Delete a comment (its author, or an admin); a first comment with replies becomes a tombstone.

    Raises:
        NotFound: the call is not visible to ``user``, or the comment is not on it.
        Forbidden: ``user`` neither wrote the comment nor is an admin.
        Conflict: the comment was already deleted (a tombstone).
    """
    comment = _changeable_comment(session, user, call_id, comment_id)
    require_author(user, comment.author, "delete", admin_too=True)
    before = {"comment": comment.id, "parent": comment.parent_id, "author": comment.author, "text": comment.text}
    after: dict[str, object]
    if comment.parent_id is None and _has_replies(session, comment):
        comment.text, comment.deleted_at, comment.deleted_by = TOMBSTONE, utcnow(), user.name
        after = {"comment": comment.id, "text": TOMBSTONE, "tombstone": True}
    else:
        after = {"comment": None, "thread_removed": _remove(session, comment)}
    record(session, user.name, "coaching.delete", call_pk=comment.call_pk, before=before, after=after)
    session.commit()


def call_threads(session: Session, user: User, call_id: str) -> list[Thread]:
    """The coaching threads of a visible call: first comments oldest first, each with its replies."""
    call = get_visible_call(session, user, call_id)
    rows = session.scalars(select(CoachingComment).where(CoachingComment.call_pk == call.id)
                           .order_by(CoachingComment.created_at, CoachingComment.id))
    threads: dict[int, Thread] = {}
    replies: list[CoachingComment] = []
    for row in rows:
        if row.parent_id is None:
            threads[row.id] = Thread(row)
        else:
            replies.append(row)
    for reply in replies:
        thread = threads.get(reply.parent_id or -1)
        if thread is not None:
            thread.replies.append(reply)
    return list(threads.values())


def history(session: Session, user: User, agent: str | None, *, limit: int,
            offset: int) -> tuple[list[CoachingNote], int]:
    """Coaching threads on the calls ``user`` may see (of one ``agent`` when given), newest first, and the total.

    An agent named that ``user`` may not see is NotFound (as for scorecards); agents see their own history.
    """
    where: list[ColumnElement[bool]] = [visible_to(user), CoachingComment.parent_id.is_(None)]
    if agent is not None:
        require_agent(session, user, agent)
        where.append(Call.agent == agent)
    base = select(CoachingComment, Call).join(Call, Call.id == CoachingComment.call_pk).where(*where)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = session.execute(base.order_by(CoachingComment.created_at.desc(), CoachingComment.id.desc())
                           .limit(limit).offset(offset)).all()
    ids = [comment.id for comment, _call in rows]
    counts = dict(session.execute(select(CoachingComment.parent_id, func.count()).where(
        CoachingComment.parent_id.in_(ids)).group_by(CoachingComment.parent_id)).all()) if ids else {}
    return [CoachingNote(comment, call, counts.get(comment.id, 0)) for comment, call in rows], total


__all__ = ["MAX_COMMENTS_PER_CALL", "MAX_TEXT_CHARS", "TOMBSTONE", "CoachingNote", "Thread", "add_comment",
           "call_threads", "check_at", "clean_text", "delete_comment", "edit_comment", "history"]
