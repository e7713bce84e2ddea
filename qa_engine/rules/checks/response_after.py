"""``response_after``: a trigger (customer complaint) must be answered (agent apology) in time.

A response only counts when it starts after the trigger started: an apology given before the
complaint does not answer it.  Once the agent has answered a complaint, later complaints in
the same call are covered by that answer.
"""

from __future__ import annotations

from bisect import bisect_right
from operator import attrgetter
from typing import Literal

from pydantic import Field

from ...types import Finding
from ..context import CallContext
from ..matching import Hit, Prepared
from ..registry import Check, quote, register
from ..schema import MatchSpec, StrictModel

_index = attrgetter("index")


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
        hit = self._response(ctx.by_role(p.response.role), tu)
        data = {"trigger": th.phrase, "complaints": len(triggers)}
        if hit is None:
            return self.finding("fail", [ctx.evidence(tu, th)], data=data, trigger=quote(tu.utt.text),
                                within_s=p.response.within_s, turns=p.response.turns)
        ru, rh = hit
        data["response"] = rh.phrase
        return self.finding("pass", [ctx.evidence(tu, th), ctx.evidence(ru, rh)], data=data,
                            trigger=quote(tu.utt.text), response=quote(ru.utt.text))

    def _response(self, responders: list[Prepared], trigger: Prepared) -> tuple[Prepared, Hit] | None:
        """The first response to ``trigger``: a turn after it (and not starting before it) among the next
        ``turns`` such turns or starting within ``within_s`` of its end. Read in call order from the trigger
        on, stopping at the first response (it usually follows at once)."""
        spec = self.p.response
        start, limit = trigger.utt.start, trigger.utt.end + spec.within_s
        seen = 0
        for r in responders[bisect_right(responders, trigger.index, key=_index):]:
            at = r.utt.start
            if at < start:
                continue
            seen += 1
            if (seen <= spec.turns or at <= limit) and (hit := self.response.find(r)) is not None:
                return r, hit
        return None

    def describe(self) -> str:
        r = self.p.response
        return (f"Triggered by {self.p.trigger.role} speech; the {r.role} must respond within "
                f"{r.within_s:g} s or the next {r.turns} {r.role} turn(s), after the trigger.")
