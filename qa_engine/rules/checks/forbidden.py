"""``forbidden``: phrases the agent must never use (禁语), with allow-listed polite uses.

Only ``role`` (the agent) is checked: the customer's words never count against the agent.
Allow-list entries (不知道您…, "I don't know if you've seen our app") blank out the polite
span before matching, so 不知道您方便吗 passes while 这个我不知道 fails.
"""

from __future__ import annotations

from typing import Literal

from ...types import Finding
from ..context import CallContext
from ..registry import Check, quote, register
from ..schema import MatchSpec, StrictModel


class ForbiddenParams(StrictModel):
    role: Literal["agent", "customer", "any"] = "agent"
    match: MatchSpec


@register("forbidden")
class Forbidden(Check):
    """Fail on any utterance of ``role`` that contains a forbidden phrase or pattern."""

    Params = ForbiddenParams
    MESSAGES = {
        "zh": {"pass": "坐席没有使用服务禁语。",
               "fail": "坐席使用了服务禁语：「{quote}」（共{count}处）。",
               "not_applicable": "通话中没有坐席发言。"},
        "en": {"pass": "The agent used no forbidden phrases.",
               "fail": "The agent used a forbidden phrase: \"{quote}\" ({count} in total).",
               "not_applicable": "The agent does not speak in this call."},
    }

    def compile(self) -> None:
        assert isinstance(self.params, ForbiddenParams)
        self.p = self.params
        self.matcher = self.env.matcher(self.p.match)

    def run(self, ctx: CallContext) -> Finding:
        utts = ctx.by_role(self.p.role)
        if not utts:
            return self.finding("not_applicable")
        hits = [(u, h) for u in self.matcher.may_hit(utts) if (h := self.matcher.find(u)) is not None]
        if not hits:
            return self.finding("pass")
        first, h = hits[0]
        return self.finding("fail", [ctx.evidence(u, x) for u, x in hits],
                            data={"matched": [x.phrase for _, x in hits]},
                            quote=quote(first.utt.text), count=len(hits))

    def describe(self) -> str:
        allow = ", ".join(self.p.match.allow) or "none"
        return f"Checks every {self.p.role} turn. Allowed (polite) uses: {allow}."
