"""Pydantic schemas for evaluation forms, evaluations and calibration sessions (bounds on every value)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

ItemId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$",
                              description="letters, digits, _ . - (stable: answers refer to it)")]
Verdict = Literal["pass", "fail"]
RuleId = Annotated[str, Field(min_length=1, max_length=64)]
CallRef = Annotated[str, Field(min_length=1, max_length=64)]
UserName = Annotated[str, Field(min_length=1, max_length=128)]


class FormItemSchema(BaseModel):
    """One manual item: answered 0..max (max 1: no/yes), N/A if allowed; a critical item answered 0 zeroes the
    final score."""

    id: ItemId
    label: str = Field(min_length=1, max_length=200)
    weight: float = Field(default=1.0, gt=0, le=1000)
    max: int = Field(default=1, ge=1, le=100)
    allow_na: bool = False
    critical: bool = False


class EvaluationFormCreate(BaseModel):
    team: str = Field(min_length=1, max_length=128)
    name: str = Field(min_length=1, max_length=128)
    items: list[FormItemSchema] = Field(min_length=1, max_length=50)
    auto_weight: float = Field(default=0.5, ge=0, le=1, description="share of the automatic score in the final one")


class EvaluationFormPublic(BaseModel):
    id: int
    team: str
    name: str
    version: int
    items: list[FormItemSchema]
    auto_weight: float
    created_by: str
    created_at: datetime
    current: bool = Field(description="the team's newest form: the one the call page offers")


class AnswerSchema(BaseModel):
    item: ItemId
    value: int | None = Field(ge=0, le=100, description="0..max; null: N/A (where the item allows it)")
    comment: str | None = Field(default=None, max_length=2000)


class EvaluationCreate(BaseModel):
    form: int | None = Field(default=None, ge=1, le=2**31 - 1, description="default: the team's current form")
    answers: list[AnswerSchema] = Field(max_length=50)
    comment: str | None = Field(default=None, max_length=4000)
    rule_verdicts: dict[RuleId, Verdict] | None = Field(
        default=None, max_length=200, description="your own pass/fail per rule (compared with the engine's)")


class CalibrationAnswerCreate(EvaluationCreate):
    call: CallRef


class StoredAnswer(BaseModel):
    item: str
    label: str
    value: int | None
    max: int
    comment: str | None = None


class EvaluationPublic(BaseModel):
    id: int
    call: str
    form: int
    calibration_session: int | None = None
    reviewer: str
    answers: list[StoredAnswer]
    rule_verdicts: dict[str, str] | None = None
    comment: str | None = None
    auto_score: float | None
    manual_score: float | None
    final_score: float | None
    critical_failed: bool
    created_at: datetime
    released_at: datetime | None = None
    released_by: str | None = None


class CalibrationCreate(BaseModel):
    name: str = Field(default="", max_length=128)
    team: str = Field(min_length=1, max_length=128)
    form: int = Field(ge=1, le=2**31 - 1)
    calls: list[CallRef] = Field(min_length=1, max_length=50)
    reviewers: list[UserName] = Field(min_length=2, max_length=20)


class CalibrationPublic(BaseModel):
    id: int
    name: str
    team: str
    form: int
    calls: list[str]
    reviewers: list[str]
    created_by: str
    created_at: datetime
    closed_at: datetime | None = None
    state: Literal["open", "closed"]
    progress: dict[str, list[str]] = Field(description="per reviewer, the calls they answered (no answers shown)")
    my_pending: list[str] = Field(description="calls the caller still has to answer (a reviewer of an open session)")


class AgreementPublic(BaseModel):
    subjects: int = Field(description="calls with at least two answers")
    ratings: int
    observed: float | None = Field(description="mean pairwise agreement")
    expected: float | None = Field(description="chance agreement")
    kappa: float | None = Field(description="Fleiss' kappa (null: every answer the same, kappa undefined)")
    unanimous: float | None = Field(description="share of calls where every reviewer answered the same")


class ItemAgreement(AgreementPublic):
    item: str
    label: str


class CallSpread(BaseModel):
    call: str
    auto_score: float | None
    scores: dict[str, float | None]
    count: int
    min: float | None
    max: float | None
    mean: float | None
    stdev: float | None


class RuleAgreement(BaseModel):
    rule_id: str
    verdicts: int
    agreed: int
    rate: float | None


class CalibrationResults(BaseModel):
    session: CalibrationPublic
    answers: int
    overall: AgreementPublic
    items: list[ItemAgreement]
    calls: list[CallSpread]
    rules: list[RuleAgreement]
