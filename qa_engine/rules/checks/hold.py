"""``hold_etiquette``: every long silence the agent causes is announced and thanked.

A silence of ``min_silence_s`` or more inside the call is an agent hold unless the customer
caused it (我找一下订单号 / "let me grab my card" just before it, with no hold announced by
the agent after those words).  Each hold needs an
announcement in the agent's turns just before (请稍等 / "please hold") and thanks in the
agent's turns just after (感谢您的耐心等待 / "thank you for holding").
"""

from __future__ import annotations

from pydantic import Field

from ...types import Evidence, Finding
from ..context import CallContext
from ..matching import Prepared
from ..registry import Check, register
from ..schema import MatchSpec, StrictModel


class SideSpec(StrictModel):
    match: MatchSpec
    turns: int = Field(default=2, ge=1)
    within_s: float = Field(default=30.0, gt=0)


class HoldParams(StrictModel):
    min_silence_s: float = Field(default=10.0, gt=0)
    announce: SideSpec
    thank: SideSpec
    customer_hold: MatchSpec


@register("hold_etiquette")
class HoldEtiquette(Check):
    """Not applicable when no agent-caused silence reaches ``min_silence_s``."""

    Params = HoldParams
    MESSAGES = {
        "zh": {"pass": "通话中{count}次等待（最长{longest:.0f}秒）坐席都事先告知并在回来后致谢。",
               "fail": "{start:.0f}秒处有{duration:.0f}秒的等待，坐席{problem}。",
               "not_applicable": "通话中没有需要坐席告知的长时间等待（≥{min_s:g}秒）。"},
        "en": {"pass": "All {count} hold(s) (longest {longest:.0f} s) were announced and the customer was "
                       "thanked afterwards.",
               "fail": "At {start:.0f} s there is a {duration:.0f} s silence: the agent {problem}.",
               "not_applicable": "There was no agent hold of {min_s:g} s or more in this call."},
    }
    PROBLEMS = {
        "zh": {"announce": "没有事先告知客户稍等", "thank": "回来后没有感谢客户的耐心等待",
               "both": "既没有事先告知也没有事后致谢"},
        "en": {"announce": "did not ask the customer to hold first",
               "thank": "did not thank the customer for holding afterwards",
               "both": "neither announced the hold nor thanked the customer"},
    }

    def compile(self) -> None:
        assert isinstance(self.params, HoldParams)
        self.p = self.params
        self.announce = self.env.matcher(self.p.announce.match)
        self.thank = self.env.matcher(self.p.thank.match)
        self.customer_hold = self.env.matcher(self.p.customer_hold)

    def _customer_caused(self, last: list[Prepared]) -> bool:
        """The customer's own "let me find it" is among the ``last`` turns before the silence, and
        the agent did not announce a hold of their own after it (我帮您查一下，请稍等)."""
        for p in reversed(last):
            if p.role == "customer" and self.customer_hold.find(p) is not None:
                return True
            if p.role == "agent" and self.announce.find(p) is not None:
                return False
        return False

    def _announced(self, before: list[Prepared], start: float) -> Prepared | None:
        """The agent's announcement among their last turns ``before`` the silence (latest first)."""
        spec = self.p.announce
        before = [a for a in before[-spec.turns:] if a.utt.end >= start - spec.within_s]
        before.reverse()
        for a in self.announce.may_hit(before):
            if self.announce.find(a) is not None:
                return a
        return None

    def _thanked(self, after: list[Prepared], end: float) -> Prepared | None:
        """The agent's thanks among their first turns ``after`` the silence."""
        spec = self.p.thank
        after = [a for a in after[: spec.turns] if a.utt.start <= end + spec.within_s]
        for a in self.thank.may_hit(after):
            if self.thank.find(a) is not None:
                return a
        return None

    def run(self, ctx: CallContext) -> Finding:
        min_s = self.p.min_silence_s
        silences = [(start, end) for start, end in ctx.long_silences(min_s)
                    if not self._customer_caused(ctx.started_before("any", start)[-3:])]
        if not silences:
            return self.finding("not_applicable", min_s=min_s)
        evidence: list[Evidence] = []
        problems = self.PROBLEMS.get(self.env.family, self.PROBLEMS["en"])
        for start, end in silences:
            ann = self._announced(ctx.started_before("agent", start), start)
            thx = self._thanked(ctx.started_from("agent", end - 0.01), end)
            if ann is None or thx is None:
                key = "both" if ann is None and thx is None else "announce" if ann is None else "thank"
                problem = problems[key]
                return self.finding("fail", [Evidence(start, end, "", None)],
                                    data={"silence": [round(start, 2), round(end, 2)]},
                                    start=start, duration=end - start, problem=problem)
            evidence += [ctx.evidence(ann), Evidence(start, end, "", None), ctx.evidence(thx)]
        return self.finding("pass", evidence, data={"holds": len(silences)}, count=len(silences),
                            longest=max([end - start for start, end in silences]))

    def describe(self) -> str:
        return (f"Silences of {self.p.min_silence_s:g} s or more; announcement within the agent's "
                f"{self.p.announce.turns} turn(s) before, thanks within {self.p.thank.turns} turn(s) after.")
