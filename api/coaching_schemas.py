"""Pydantic schemas for coaching comments, coaching history and the supervisor's per-agent overview."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from qa_engine.app.analysis_schemas import Period, Scorecard, Stats
from qa_engine.app.coaching import MAX_TEXT_CHARS, TOMBSTONE


class CommentCreate(BaseModel):
    """A coaching comment (supervisors, admins), optionally at a moment of the call; or a reply (``parent``)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS,
                      description="the comment (stored and shown PII-masked: phone and ID numbers become ****)")
    at: float | None = Field(default=None, ge=0, le=86_400, allow_inf_nan=False,
                             description="seconds from the start of the call the comment is about")
    parent: int | None = Field(default=None, ge=1, le=2**31 - 1,
                               description="the comment this replies to (agents only reply)")


class CommentEdit(BaseModel):
    """New text for one's own comment (checked and masked as when it was written)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS,
                      description="the comment (stored and shown PII-masked: phone and ID numbers become ****)")


class CommentPublic(BaseModel):
    id: int
    call: str = Field(description="the call's id (as in /calls/{id})")
    parent: int | None = Field(description="the thread's first comment, for a reply")
    author: str
    author_role: str
    at: float | None = Field(description="seconds from the start of the call, when anchored")
    text: str = Field(description=f"PII-masked; {TOMBSTONE!r} once a first comment with replies is deleted")
    created_at: datetime
    edited_at: datetime | None = Field(description="when the author last changed the text (the UI: \"(edited)\")")
    deleted_at: datetime | None = Field(description="set on a deleted first comment kept for its replies")
    deleted_by: str | None = Field(description="who deleted it (the author, or an admin)")


class ThreadPublic(CommentPublic):
    """A thread: the first comment with its replies (oldest first)."""

    replies: list[CommentPublic]


class CallRef(BaseModel):
    """The call a row is about, as the call list shows it."""

    id: str
    call_id: str
    agent: str
    team: str | None
    started_at: datetime | None
    created_at: datetime
    status: str
    score: float | None
    grade: str | None
    category: str | None
    duration: float | None
    grade_id: str | None = Field(default=None, description="canonical grade (excellent, good, pass, fail)")
    category_id: str | None = Field(default=None, description="canonical category (inquiry, complaint, suggestion, "
                                                                "after_sales)")


class CoachingNotePublic(CommentPublic):
    """A thread's first comment in a coaching history, with its call and how many replies it has."""

    about: CallRef
    replies: int


class CoachingList(BaseModel):
    items: list[CoachingNotePublic]
    total: int
    limit: int
    offset: int


class RuleBenchmarkPublic(BaseModel):
    rule_id: str
    agent_pass_rate: float | None
    agent_applied: int = Field(description="the agent's findings where the rule applied")
    team_pass_rate: float | None
    team_applied: int


class OpenDisputePublic(BaseModel):
    id: int = Field(description="the review's id (POST /reviews/{id}/accept|reject)")
    rule_id: str
    requested_status: str
    comment: str
    created_at: datetime
    about: CallRef


class AgentOverviewPublic(BaseModel):
    """``GET /agents/{name}/overview``: the supervisor's drill-down on one agent."""

    agent: str
    team: str | None = Field(description="the agent's team (the benchmark's), None when unknown")
    period: Period
    date_from: date | None
    date_to: date | None
    scorecard: Scorecard = Field(description="the agent's figures and trend per period (pass rate per rule)")
    team_total: Stats | None = Field(description="the team's figures over the same range (the benchmark)")
    rules: list[RuleBenchmarkPublic] = Field(description="per rule: the agent's pass rate next to the team's")
    recent_calls: list[CallRef]
    open_disputes: list[OpenDisputePublic]
    coaching: list[CoachingNotePublic] = Field(description="the newest coaching threads on the agent's calls")
    coaching_total: int
