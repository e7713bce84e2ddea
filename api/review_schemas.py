"""Pydantic schemas for reviews: overrides, disputes, their resolution, the audit trail and calibration."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ReviewedStatus = Literal["pass", "fail"]
ReviewKind = Literal["override", "dispute"]
ReviewState = Literal["applied", "open", "accepted", "rejected"]


class OverrideCreate(BaseModel):
    """A supervisor sets a finding to pass or fail (applied at once)."""

    status: ReviewedStatus
    comment: str = Field(min_length=1, max_length=4000, description="why the automatic result is wrong (or right)")


class DisputeCreate(BaseModel):
    """An agent asks for the opposite of a finding's current status on one of their calls."""

    comment: str = Field(min_length=1, max_length=4000, description="why the finding is wrong")


class Resolution(BaseModel):
    """A supervisor's answer to a dispute."""

    comment: str | None = Field(default=None, max_length=4000)


class ReviewPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    call: str = Field(description="the call's id (as in /calls/{id})")
    rule_id: str
    kind: ReviewKind
    state: ReviewState
    author: str
    comment: str
    requested_status: ReviewedStatus
    resolved_by: str | None = None
    resolution_comment: str | None = None
    created_at: datetime
    resolved_at: datetime | None = None


class FindingState(BaseModel):
    """A finding after a review: its engine status and its current (reviewed) status."""

    rule_id: str
    auto_status: str
    status: str
    reviewed: bool


class ReviewOutcome(BaseModel):
    """Answer to an override or a dispute action: the review, the finding and the call's score now."""

    review: ReviewPublic
    finding: FindingState
    score: float | None
    grade: str | None
    auto_score: float | None


class ReviewList(BaseModel):
    items: list[ReviewPublic]
    total: int
    limit: int
    offset: int


class AuditPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    action: str
    rule_id: str | None = None
    before: Any = None
    after: Any = None
    detail: str | None = None


class CalibrationRule(BaseModel):
    """Per rule: how often the engine's status survived human review."""

    rule_id: str
    reviewed: int
    agreed: int
    agreement_rate: float | None = Field(description="agreed / reviewed (None when nothing was reviewed)")


class Calibration(BaseModel):
    team: str | None
    date_from: date | None = None
    date_to: date | None = None
    reviewed: int
    agreed: int
    agreement_rate: float | None
    rules: list[CalibrationRule]
