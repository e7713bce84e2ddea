"""``classify``: label the call (category 咨询/投诉/建议/售后, priority 紧急/普通/预约).

Classes are tried in order; the first whose phrases/patterns occur in ``role``'s speech wins,
otherwise ``default``.  The finding carries no weight; the label goes to the report.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ...types import Finding
from ..context import CallContext
from ..registry import Check, quote, register
from ..schema import MatchSpec, StrictModel


class ClassSpec(StrictModel):
    label: str
    role: Literal["agent", "customer", "any"] = "customer"
    match: MatchSpec


class ClassifyParams(StrictModel):
    target: Literal["category", "priority"]
    default: str
    classes: list[ClassSpec] = Field(min_length=1)


@register("classify")
class Classify(Check):
    """Always ``pass``; ``data['label']`` holds the class."""

    Params = ClassifyParams
    MESSAGES = {
        "zh": {"pass": "{target}：{label}{why}。"},
        "en": {"pass": "{target}: {label}{why}."},
    }
    TARGET = {"zh": {"category": "来电类别", "priority": "优先级"},
              "en": {"category": "Call category", "priority": "Priority"}}

    def compile(self) -> None:
        assert isinstance(self.params, ClassifyParams)
        self.p = self.params
        self.matchers = [(c, self.env.matcher(c.match)) for c in self.p.classes]
        self.target = self.TARGET.get(self.env.family, self.TARGET["en"])[self.p.target]

    def run(self, ctx: CallContext) -> Finding:
        target = self.target
        for cls, matcher in self.matchers:
            found = ctx.first_hit(matcher, ctx.by_role(cls.role))
            if found is not None:
                utt, hit = found
                why = f"（依据：「{quote(utt.utt.text)}」）" if self.env.family == "zh" else \
                    f" (because of \"{quote(utt.utt.text)}\")"
                return self.finding("pass", [ctx.evidence(utt, hit)],
                                    data={"target": self.p.target, "label": cls.label},
                                    target=target, label=cls.label, why=why)
        return self.finding("pass", data={"target": self.p.target, "label": self.p.default},
                            target=target, label=self.p.default, why="")

    def describe(self) -> str:
        labels = ", ".join(c.label for c in self.p.classes)
        return f"Sets the report's {self.p.target}: first of {labels} that matches, else {self.p.default}."
