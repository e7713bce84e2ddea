"""``response_after``: a trigger (customer complaint) must be answered (agent apology) in time.

A response only counts when it starts after the trigger started: an apology given before the
complaint does not answer it.  Once the agent has answered a complaint, later complaints in
the same call are covered by that answer.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ...types import Finding
from ..context import CallContext
from ..registry import Check, quote, register
from ..schema import MatchSpec, StrictModel


class TriggerSpec(StrictModel):
    role: Literal["agent", "customer", "any"] = "customer"
    match: MatchSpec


class ResponseSpec(StrictModel):
    role: Literal["agent", "customer", "any"] = "agent"
    match: MatchSpec
    within_s: float = Field(default=30.0, gt=0)
    turns: int = Field(default=2, ge=1)


class ResponseAfterParams(StrictModel):
    trigger: TriggerSpec
    response: ResponseSpec


@register("response_after")
class ResponseAfter(Check):
    """Every trigger needs a response within ``within_s`` seconds or the next ``turns`` turns."""

    Params = ResponseAfterParams
    MESSAGES = {
        "zh": {"pass": "客户表达不满（「{trigger}」）后，坐席及时回应了「{response}」。",
               "fail": "客户表达不满（「{trigger}」）后，坐席在{within_s:g}秒/{turns}轮内没有致歉或安抚。",
               "not_applicable": "本通电话客户没有投诉或表达不满，无需致歉。"},
        "en": {"pass": "After the customer's complaint (\"{trigger}\") the agent responded: \"{response}\".",
               "fail": "The customer complained (\"{trigger}\") but the agent did not apologise within "
                       "{within_s:g} s or the next {turns} turns.",
               "not_applicable": "The customer did not complain in this call, so no apology was needed."},
    }

    def compile(self) -> None:
        assert isinstance(self.params, ResponseAfterParams)
        self.p = self.params
        self.trigger = self.env.matcher(self.p.trigger.match)
        self.response = self.env.matcher(self.p.response.match)

    def run(self, ctx: CallContext) -> Finding:
        p = self.p
        triggers = [(u, h) for u in self.trigger.may_hit(ctx.by_role(p.trigger.role))
                    if (h := self.trigger.find(u)) is not None]
        if not triggers:
            return self.finding("not_applicable")
        # the first complaint must be answered; that answer covers the complaints that follow
        tu, th = triggers[0]
        later = [r for r in ctx.by_role(p.response.role)
                 if r.utt.start >= tu.utt.start and r.index > tu.index]
        window = [r for i, r in enumerate(later)
                  if i < p.response.turns or r.utt.start <= tu.utt.end + p.response.within_s]
        hit = ctx.first_hit(self.response, window)
        data = {"trigger": th.phrase, "complaints": len(triggers)}
        if hit is None:
            return self.finding("fail", [ctx.evidence(tu, th)], data=data, trigger=quote(tu.utt.text),
                                within_s=p.response.within_s, turns=p.response.turns)
        ru, rh = hit
        data["response"] = rh.phrase
        return self.finding("pass", [ctx.evidence(tu, th), ctx.evidence(ru, rh)], data=data,
                            trigger=quote(tu.utt.text), response=quote(ru.utt.text))

    def describe(self) -> str:
        r = self.p.response
        return (f"Triggered by {self.p.trigger.role} speech; the {r.role} must respond within "
                f"{r.within_s:g} s or the next {r.turns} {r.role} turn(s), after the trigger.")
