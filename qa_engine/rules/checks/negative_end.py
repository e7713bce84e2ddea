"""``customer_negative_end``: the call ended badly: the customer's last turns are clearly negative.

Reads each utterance's ``sentiment`` (filled by :func:`qa_engine.sentiment.annotate` when the call is scored;
computed here when a caller runs the pack on a bare transcript). The mean of the customer's last ``last_turns``
turns that say something (not a bare 嗯/ok) below ``threshold`` fails; a complaint that ends in thanks passes,
and so does a cool, neutral goodbye (行，再见 / "ok, bye"): only a clearly negative ending fails.
"""

from __future__ import annotations

from pydantic import Field

from ...sentiment import score_texts
from ...types import Finding
from ..context import CallContext
from ..matching import Prepared
from ..registry import Check, quote, register
from ..schema import StrictModel


class NegativeEndParams(StrictModel):
    last_turns: int = Field(default=2, ge=1, le=20)  # the customer's last turns that are averaged
    threshold: float = Field(default=-0.3, ge=-1, le=1)  # a mean below this fails
    min_chars: int = Field(default=2, ge=1, le=50)  # shorter turns (嗯, ok) are not the customer's last words


@register("customer_negative_end")
class CustomerNegativeEnd(Check):
    """Fail when the mean sentiment of the customer's last turns is below ``threshold``."""

    Params = NegativeEndParams
    MESSAGES = {
        "zh": {"pass": "通话结束时客户情绪不负面（最后{turns}句情绪{value:+.2f}）。",
               "fail": "通话结束时客户情绪明显负面（最后{turns}句情绪{value:+.2f}，如「{last}」）。",
               "not_applicable": "本通电话没有客户发言，无法判断结束时的客户情绪。"},
        "en": {"pass": "The customer did not end the call negatively (last {turns} turn(s): {value:+.2f}).",
               "fail": "The call ended badly: the customer's last {turns} turn(s) were clearly negative "
                       "({value:+.2f}, e.g. \"{last}\").",
               "not_applicable": "The customer did not speak, so the end of the call cannot be judged."},
    }

    def compile(self) -> None:
        assert isinstance(self.params, NegativeEndParams)
        self.p = self.params

    def run(self, ctx: CallContext) -> Finding:
        p = self.p
        if not ctx.customer:
            return self.finding("not_applicable")
        # the last turns that say something, read from the end (the customer's turns before them never count)
        last: list[Prepared] = []
        for u in reversed(ctx.customer):
            if len(u.norm) - u.norm.count(" ") >= p.min_chars:
                last.append(u)
                if len(last) == p.last_turns:
                    break
        last.reverse()
        last = last or ctx.customer[-p.last_turns:]  # only bare acknowledgements: the last of those
        stored = [u.utt.sentiment for u in last]
        if any(v is None for v in stored):  # a bare transcript (tests, pack.run): score the few turns read here
            values = score_texts([u.utt.text for u in last], ctx.language)
        else:
            values = [v or 0.0 for v in stored]
        value = sum(values) / len(values)
        data = {"sentiment": round(value, 3), "turns": len(last), "threshold": p.threshold}
        if value < p.threshold:
            worst = min(range(len(last)), key=lambda k: values[k])
            return self.finding("fail", [ctx.evidence(u) for u in last], data=data, turns=len(last), value=value,
                                last=quote(last[worst].utt.text, 30))
        return self.finding("pass", data=data, turns=len(last), value=value)

    def describe(self) -> str:
        return (f"Fails when the mean sentiment (-1..1) of the customer's last {self.p.last_turns} turn(s) of at "
                f"least {self.p.min_chars} characters is below {self.p.threshold:g}.")
