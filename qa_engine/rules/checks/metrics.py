"""``metric``: timing and speech measurements with thresholds.

first_response  seconds from call start to the agent's first words
dead_air        longest silence inside the call (s)
interruptions   times the agent starts while the customer is still speaking
speech_rate     agent characters per minute (zh) or words per minute (en)
talk_ratio      agent share of all speech time (0-1)
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ...types import Finding
from ..context import CallContext
from ..registry import Check, register
from ..schema import StrictModel

Metric = Literal["first_response", "dead_air", "interruptions", "speech_rate", "talk_ratio"]


class MetricParams(StrictModel):
    metric: Metric
    min: float | None = None
    max: float | None = None
    overlap_s: float = Field(default=0.5, ge=0)  # overlap tolerated before it counts as interrupting

    @model_validator(mode="after")
    def _bound(self) -> MetricParams:
        if self.min is None and self.max is None:
            raise ValueError("give 'min', 'max' or both")
        return self


NAMES = {
    "zh": {"first_response": "坐席首次应答时间", "dead_air": "最长静音", "interruptions": "坐席抢话次数",
           "speech_rate": "坐席语速", "talk_ratio": "坐席说话占比"},
    "en": {"first_response": "time to the agent's first words", "dead_air": "longest dead air",
           "interruptions": "agent interruptions", "speech_rate": "agent speech rate",
           "talk_ratio": "agent talk ratio"},
}
UNITS = {"zh": {"first_response": "秒", "dead_air": "秒", "interruptions": "次", "speech_rate": "字/分钟",
                "talk_ratio": ""},
         "en": {"first_response": " s", "dead_air": " s", "interruptions": "", "speech_rate": " words/min",
                "talk_ratio": ""}}


def measure(ctx: CallContext, metric: str, overlap_s: float = 0.5) -> float | None:
    """The metric's value for the call, or None when it cannot be measured."""
    agent = ctx.agent
    if metric == "first_response":
        return agent[0].utt.start if agent else None
    if metric == "dead_air":
        return ctx.longest_silence()
    if metric == "interruptions":
        count = 0
        customers = sorted((c.utt.start, c.utt.end) for c in ctx.customer)
        j, speaking_until = 0, float("-inf")
        for a in sorted(agent, key=lambda q: q.utt.start):
            while j < len(customers) and customers[j][0] < a.utt.start:
                speaking_until = max(speaking_until, customers[j][1])
                j += 1
            if a.utt.start < speaking_until - overlap_s:
                count += 1
        return float(count)
    if metric == "speech_rate":
        minutes = ctx.talk_time("agent") / 60.0
        if minutes <= 0:
            return None
        if ctx.family == "zh":  # characters, spaces left out
            said = "".join([a.norm for a in agent])
            return (len(said) - said.count(" ")) / minutes
        return len(" ".join([a.norm for a in agent]).split()) / minutes  # words
    if metric == "talk_ratio":
        total = ctx.talk_time("agent+customer")
        return ctx.talk_time("agent") / total if total > 0 else None
    raise ValueError(metric)


@register("metric")
class MetricCheck(Check):
    """Pass when the measured value lies within [min, max]."""

    Params = MetricParams
    MESSAGES = {
        "zh": {"pass": "{name}为{value}{unit}，在标准范围（{bounds}）内。",
               "fail": "{name}为{value}{unit}，超出标准范围（{bounds}）。",
               "not_applicable": "无法测量{name}（没有相应的发言）。"},
        "en": {"pass": "The {name} was {value}{unit}, within the standard ({bounds}).",
               "fail": "The {name} was {value}{unit}, outside the standard ({bounds}).",
               "not_applicable": "The {name} cannot be measured in this call."},
    }

    def compile(self) -> None:
        assert isinstance(self.params, MetricParams)
        self.p = p = self.params
        fam = self.env.family if self.env.family in NAMES else "en"
        self.name, self.unit = NAMES[fam][p.metric], UNITS[fam][p.metric]
        self.bounds = " ".join(x for x in (f"≥{p.min:g}" if p.min is not None else "",
                                           f"≤{p.max:g}" if p.max is not None else "") if x)

    def run(self, ctx: CallContext) -> Finding:
        p = self.p
        value = measure(ctx, p.metric, p.overlap_s)
        if value is None:
            return self.finding("not_applicable", name=self.name)
        ok = (p.min is None or value >= p.min) and (p.max is None or value <= p.max)
        if p.metric == "talk_ratio":
            shown = f"{value:.2f}"
        elif p.metric == "interruptions" or value >= 10:
            shown = f"{value:.0f}"
        else:
            shown = f"{value:.1f}"
        return self.finding("pass" if ok else "fail", data={"metric": p.metric, "value": round(value, 3)},
                            name=self.name, value=shown, unit=self.unit, bounds=self.bounds)

    def describe(self) -> str:
        return f"Measures {self.p.metric}; passes within min={self.p.min} max={self.p.max}."
