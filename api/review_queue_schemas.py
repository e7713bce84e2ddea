"""Pydantic schemas of the review queue (supervisor inbox) and sampling plans (抽检)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ItemState = Literal["open", "in_review", "done"]
Reason = Literal["dispute", "critical_fail", "low_score", "sampled"]


class QueueItem(BaseModel):
    """One call in the queue: why it is there, who reviews it, where the review stands."""

    id: str = Field(description="the call's id (as in /calls/{id})")
    call_id: str = Field(description="the caller's own id of the call")
    agent: str
    team: str | None = None
    reasons: list[Reason]
    assigned_to: str | None = None
    state: ItemState
    open_disputes: int = Field(description="disputes of the call awaiting a decision")
    score: float | None = None
    grade: str | None = Field(default=None, description="the pack's label of the grade")
    grade_id: str | None = Field(default=None, description="canonical grade (excellent, good, pass, fail)")
    started_at: datetime | None = None
    created_at: datetime = Field(description="when the call entered the queue")
    updated_at: datetime
    done_by: str | None = None
    done_at: datetime | None = None


class QueueList(BaseModel):
    items: list[QueueItem]
    total: int
    limit: int
    offset: int


class Assignment(BaseModel):
    """Who reviews the call: a supervisor of its team or an admin; ``null`` unassigns."""

    model_config = ConfigDict(extra="forbid")

    reviewer: str | None = Field(min_length=1, max_length=128)


class StateChange(BaseModel):
    """``open -> in_review -> done`` (``in_review -> open`` gives it back, ``done -> open`` reopens it)."""

    model_config = ConfigDict(extra="forbid")

    state: ItemState


class PlanInclude(BaseModel):
    """Only calls matching every given field are drawn."""

    model_config = ConfigDict(extra="forbid")

    category: str | None = Field(default=None, min_length=1, max_length=64, description="category label or id")
    grade: str | None = Field(default=None, min_length=1, max_length=64, description="grade label or id")
    max_score: float | None = Field(default=None, ge=0, le=100, description="score at most this")


class PlanCreate(BaseModel):
    """A sampling plan for one team."""

    model_config = ConfigDict(extra="forbid")

    team: str = Field(min_length=1, max_length=128)
    percent: float = Field(ge=0, le=100, allow_inf_nan=False, description="share of the scored calls drawn")
    per_agent_min: int = Field(default=0, ge=0, le=100, description="at least this many calls per agent per day")
    include: PlanInclude | None = None


class PlanPublic(BaseModel):
    id: int
    team: str
    percent: float
    per_agent_min: int
    include: PlanInclude | None = None
    since: datetime = Field(description="calls scored since then were drawn when the plan was made")
    created_by: str
    created_at: datetime
    drawn: int = Field(description="calls drawn by the plan")
    selected: int = Field(description="calls the plan put in the review queue")


class PlanCreated(PlanPublic):
    backfilled: int = Field(description="already-scored calls of the look-back window the plan selected")
