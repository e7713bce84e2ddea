"""Pydantic models at the edge of the packs API: catalogue, pack details, team choice, rescore jobs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from qa_engine.app.pack_cache import MAX_VERSION_LENGTH, PACK_ID


class PackVersionPublic(BaseModel):
    version: str
    language: str
    origin: str = Field(description="bundled (a file in rules/packs) or uploaded (by an admin)")
    uploaded_by: str | None = None
    created_at: datetime | None = None


class PackSummary(BaseModel):
    id: str
    latest: str = Field(description="the version used when a pack is chosen without a version")
    language: str
    versions: list[PackVersionPublic]


class PackList(BaseModel):
    items: list[PackSummary]


class RulePublic(BaseModel):
    """A rule as declared in the pack (check-specific fields included)."""

    model_config = ConfigDict(extra="allow")

    id: str
    type: str
    summary: str = ""
    weight: float = 0.0
    severity: str = "major"
    enabled: bool = True


class PackDetail(BaseModel):
    id: str
    version: str
    language: str
    name: str
    description: str
    grades: dict[str, float]
    rules: list[dict[str, Any]]
    versions: list[PackVersionPublic] = []


class PackValidation(BaseModel):
    valid: bool
    id: str
    version: str
    language: str
    name: str
    rules: list[RulePublic]


class PackUploaded(BaseModel):
    id: str
    version: str
    language: str
    rules: int


class TeamPackPublic(BaseModel):
    team: str
    pack_id: str | None = Field(description="null: the language default pack")
    version: str | None = Field(description="null: the newest version of pack_id")
    set_by: str | None = None
    set_at: datetime | None = None


class TeamPackSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pack_id: str = Field(pattern=PACK_ID.pattern, max_length=64)
    version: str | None = Field(default=None, min_length=1, max_length=MAX_VERSION_LENGTH)


class RescoreRequest(BaseModel):
    """Which stored calls to score again; every field is optional (default: all calls the caller may re-score)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    team: str | None = Field(default=None, min_length=1, max_length=128)
    start: AwareDatetime | None = Field(default=None, alias="from",
                                        description="calls that happened at or after (ISO 8601 with offset)")
    end: AwareDatetime | None = Field(default=None, alias="to", description="calls that happened before")
    version: str | None = Field(default=None, min_length=1, max_length=MAX_VERSION_LENGTH,
                                description="default: the newest version")

    @field_validator("start", "end")
    @classmethod
    def _in_utc_range(cls, value: datetime | None) -> datetime | None:
        """``0001-01-01T00:00:00+05:00`` is in the year 0 in UTC: no datetime holds it (nor can it be compared)."""
        if value is not None:
            try:
                value.astimezone(UTC)
            except OverflowError:
                raise ValueError("outside the years 0001 to 9999 once converted to UTC") from None
        return value

    @model_validator(mode="after")
    def _ordered(self) -> RescoreRequest:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("'to' must be after 'from'")
        return self


class JobAccepted(BaseModel):
    job_id: int
    status: str


class JobPublic(BaseModel):
    id: int
    kind: str
    status: str
    payload: dict[str, Any] | None
    result: dict[str, Any] | None
    error: str | None
    attempts: int
    created_by: str | None
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
