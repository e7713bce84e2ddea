"""Pydantic models for rule-pack YAML: validation happens here, at the edge.

Fields shared by every rule live on :class:`RuleSpec`; each check type validates its own
parameters with its ``Params`` model (see ``registry``), so a typo in a rule's field is
reported with the file, the rule id and the field name.
"""

from __future__ import annotations

import re
import string
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..text import normalize
from .safe_regex import compile_user_pattern

__all__ = ["MAX_WEIGHT", "MatchSpec", "OnFail", "PackSpec", "RuleSpec", "StrictModel", "WindowSpec",
           "template_problem"]


class StrictModel(BaseModel):
    """Unknown keys are errors: a misspelt field must not be silently ignored.

    Numbers must be finite: ``.inf``/``.nan`` pass ``ge``/``le`` bounds badly (inf >= 0) and reports that carry
    them cannot be written as JSON.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class MatchSpec(StrictModel):
    """What to look for in an utterance: fuzzy phrases and/or regular expressions.

    ``phrases`` are matched fuzzily (character level for Chinese with pinyin sounds, token
    level for English) at ``threshold`` (0-100).  ``patterns`` are regular expressions on the
    normalised text (Chinese characters in them also match their homophones), run on RE2 (linear time:
    no backreferences or lookaround; see :mod:`qa_engine.rules.safe_regex`).
    ``exact_patterns`` are the same without homophones: for short function words whose
    homophones are everyday words (又 ~ 有, 呢 ~ 了), where sound matching does more harm than
    good.  For English they behave like ``patterns``.  ``allow``
    phrases/patterns mark polite or quoted uses: a hit inside an allowed span does not count.
    ``negate``: a hit right after a negation word (不/没/not/never) does not count.
    """

    phrases: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)
    allow: list[str] = Field(default_factory=list)
    allow_patterns: list[str] = Field(default_factory=list)
    exact_patterns: list[str] = Field(default_factory=list)
    threshold: int | None = Field(default=None, ge=50, le=100)
    negate: bool = False

    @field_validator("phrases", "allow")
    @classmethod
    def _not_blank(cls, value: list[str]) -> list[str]:
        for p in value:
            if not normalize(p):  # it would be dropped and never match: a silent hole in a forbidden-words list
                raise ValueError(f"phrase {p[:40]!r} is empty once normalised (punctuation, spaces and symbols are "
                                 "removed before matching)")
        return value

    @field_validator("patterns", "allow_patterns", "exact_patterns")
    @classmethod
    def _compiles(cls, value: list[str]) -> list[str]:
        for p in value:
            compile_user_pattern(p)  # PatternError (a ValueError) says why and how to rewrite it
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> MatchSpec:
        if not self.phrases and not self.patterns and not self.exact_patterns:
            raise ValueError("give at least one entry in 'phrases', 'patterns' or 'exact_patterns'")
        return self


class WindowSpec(StrictModel):
    """Which part of the call a phrase must appear in."""

    anchor: Literal["first_agent_turns", "last_agent_turns", "call_start", "call_end", "whole_call"]
    turns: int | None = Field(default=None, ge=1)
    within_s: float | None = Field(default=None, gt=0)
    # never look at the role's first N turns (an opening "what can I do for you" is not an offer)
    skip_first_turns: int = Field(default=0, ge=0)


class OnFail(StrictModel):
    """What a failed critical rule does to the whole score: cap it, or zero it."""

    cap: float | None = Field(default=None, ge=0, le=100)
    zero: bool = False

    @model_validator(mode="after")
    def _one(self) -> OnFail:
        if self.cap is None and not self.zero:
            raise ValueError("give 'cap: N' or 'zero: true'")
        return self


#: A width or precision in a message template (``{value:.1f}``) has at most this many digits.
_SPEC_NUMBER = re.compile(r"\d{3,}")


def template_problem(template: str) -> str | None:
    """Why ``template`` may not be a rule's message (None when it may): fields are plain names with small formats.

    Why: the template is formatted on every call scored; ``{why:>400000000}`` would build a string of that width,
    and ``{summary.__class__}`` would show the engine's internals. A template that is not a format string at all
    (an unbalanced brace) is shown as written, as before.
    """
    try:
        fields = [(name, spec) for _, name, spec, _ in string.Formatter().parse(template) if name is not None]
    except ValueError:
        return None
    for name, spec in fields:
        if not name.isidentifier():
            return f"{{{name}}}: {name!r} is not a plain name (write {{why}}, {{count}}…)"
        if spec and "{" in spec:
            return f"{{{name}:{spec}}}: a nested field in a format is not allowed"
        if spec and _SPEC_NUMBER.search(spec):
            return f"{{{name}:{spec}}}: a width or precision over 2 digits is not allowed"
    return None


#: A rule's weight at most: the score sums weights, and weights near 1e308 would add up to infinity.
MAX_WEIGHT = 1_000_000


class RuleSpec(BaseModel):
    """The fields every rule has; the rest are the check type's parameters."""

    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: str
    summary: str = Field(min_length=1)
    description: str = ""
    weight: float = Field(default=0.0, ge=0, le=MAX_WEIGHT)
    severity: Literal["info", "minor", "major", "critical"] = "major"
    on_fail: OnFail | None = None
    enabled: bool = True
    messages: dict[Literal["pass", "fail", "not_applicable"], str] = Field(default_factory=dict)

    @field_validator("messages")
    @classmethod
    def _plain_templates(cls, value: dict[str, str]) -> dict[str, str]:
        for status, template in value.items():
            problem = template_problem(template)
            if problem is not None:
                raise ValueError(f"{status}: {problem}")
        return value

    def params(self) -> dict[str, object]:
        """The check-specific fields (everything that is not a common field)."""
        return dict(self.model_extra or {})


class PackSpec(StrictModel):
    """A whole pack file."""

    pack: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$")
    version: str
    language: str = Field(min_length=2)
    name: str = ""
    description: str = ""
    threshold: int = Field(default=85, ge=50, le=100)
    grades: dict[str, float]
    #: canonical ids of labels that are not built in (see :mod:`.labels`): {差: fail, 物流: after_sales}
    label_ids: dict[str, str] = Field(default_factory=dict)
    rules: list[dict[str, object]]

    @field_validator("version", mode="before")
    @classmethod
    def _version_str(cls, value: object) -> object:
        return str(value) if isinstance(value, (int, float)) else value

    @field_validator("grades")
    @classmethod
    def _grades(cls, value: dict[str, float]) -> dict[str, float]:
        if not value:
            raise ValueError("give at least one grade band, e.g. {pass: 60, fail: 0}")
        if min(value.values()) > 0:
            raise ValueError("the lowest grade band must start at 0")
        if any(not 0 <= v <= 100 for v in value.values()):
            raise ValueError("grade thresholds must be between 0 and 100")
        return value

    @field_validator("rules")
    @classmethod
    def _rules(cls, value: list[dict[str, object]]) -> list[dict[str, object]]:
        if not value:  # it would score every call 100: a pack that judges nothing is a mistake, not a policy
            raise ValueError("give at least one rule (a pack without rules would score every call 100)")
        return value

    @field_validator("label_ids")
    @classmethod
    def _label_ids(cls, value: dict[str, str]) -> dict[str, str]:
        for label, label_id in value.items():
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", label_id):
                raise ValueError(f"the id of {label!r} must be lower-case letters, digits and _ (at most 32), "
                                 f"got {label_id!r}")
        return value
