"""Pydantic schemas for scorecards and the weekly analysis (what the supervisor dashboards read)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

Period = Literal["day", "week", "month"]


class RuleRate(BaseModel):
    """One rule's pass rate over findings that applied (``not_applicable`` left out)."""

    rule_id: str
    passed: int
    failed: int
    pass_rate: float | None = Field(description="passed / (passed + failed); None when the rule never applied")


class Stats(BaseModel):
    calls: int
    average_score: float | None = Field(description="mean of the current (reviewed) scores")
    grades: dict[str, int] = Field(description="calls per grade")
    rules: list[RuleRate] = Field(description="rules that count toward the score, by rule id")


class Bucket(Stats):
    period: str = Field(description="2026-11-23 (day), 2026-W47 (ISO week) or 2026-11 (month), in the call centre's "
                                    "time zone")
    start: date


class Scorecard(BaseModel):
    scope: Literal["agent", "team"]
    name: str
    period: Period
    date_from: date | None = None
    date_to: date | None = None
    total: Stats
    trend: list[Bucket] = Field(description="the same statistics per period, oldest first (periods with calls)")


class Problem(BaseModel):
    """A failed rule, ranked by how many calls failed it."""

    rule_id: str
    summary: str | None = None
    severity: str
    failures: int
    share_of_calls: float = Field(description="failures / calls of the week")
    fail_rate: float = Field(description="failures / calls where the rule applied")
    previous_failures: int = Field(description="failures in the week before")


class Share(BaseModel):
    label: str
    calls: int
    share: float


class GroupScore(BaseModel):
    name: str
    calls: int
    average_score: float | None
    failures: int = Field(description="failed scored findings on these calls")


class Hotspots(BaseModel):
    """Where customers were unhappy or the agent hurt the call most."""

    complaint_calls: int = Field(description="calls classified as complaints (投诉 / complaint)")
    complaint_share: float
    apology_missed: int = Field(description="calls where apology_on_complaint failed")
    apology_applicable: int = Field(description="calls where the customer complained (the rule applied)")
    critical_failures: list[Problem]
    lowest_agents: list[GroupScore]
    lowest_teams: list[GroupScore]
    lowest_rules: list[RuleRate]


class WeekSummary(BaseModel):
    week: str
    calls: int
    average_score: float | None
    average_handle_time_s: float | None


class WeeklyAnalysis(BaseModel):
    week: str
    start: date
    end: date = Field(description="the last day of the week (inclusive)")
    team: str | None
    calls: int
    average_score: float | None
    average_handle_time_s: float | None = Field(description="mean call duration in seconds")
    total_handle_time_s: float
    grades: dict[str, int]
    problems: list[Problem] = Field(description="most frequent problems first")
    categories: list[Share] = Field(description="call categories (咨询/投诉/建议/售后), largest first")
    hotspots: Hotspots
    previous: WeekSummary = Field(description="the week before, for comparison")
