"""``phrase_in_window``: a phrase must appear in part of the call (greeting, closing, offer of help)."""

from __future__ import annotations

from typing import Literal

from ...types import Finding
from ..context import CallContext
from ..registry import Check, quote, register
from ..schema import MatchSpec, StrictModel, WindowSpec

ANCHOR_DOC = {
    "first_agent_turns": "the agent's first {turns} turn(s){within}",
    "last_agent_turns": "the agent's last {turns} turn(s){within}",
    "call_start": "the start of the call{within}",
    "call_end": "the end of the call{within}",
    "whole_call": "anywhere in the call",
}


class PhraseInWindowParams(StrictModel):
    role: Literal["agent", "customer", "any"] = "agent"
    window: WindowSpec
    match: MatchSpec


@register("phrase_in_window")
class PhraseInWindow(Check):
    """Pass when one of the phrases/patterns is said by ``role`` inside the window."""

    Params = PhraseInWindowParams
    MESSAGES = {
        "zh": {"pass": "坐席在规定位置说了「{quote}」，符合要求。",
               "fail": "坐席在{where}没有说出要求的话术（如「{example}」）。",
               "not_applicable": "通话中没有坐席发言，无法检查此项。"},
        "en": {"pass": "The agent said \"{quote}\" where required.",
               "fail": "The agent did not say the required phrase (e.g. \"{example}\") in {where}.",
               "not_applicable": "The agent does not speak in this call, so this cannot be checked."},
    }
    WHERE = {"zh": {"first_agent_turns": "开场白中", "last_agent_turns": "结束语中",
                    "call_start": "通话开始时", "call_end": "通话结束前", "whole_call": "整通电话中"},
             "en": {"first_agent_turns": "the opening", "last_agent_turns": "the last turns",
                    "call_start": "the start of the call", "call_end": "the end of the call",
                    "whole_call": "the call"}}

    def compile(self) -> None:
        assert isinstance(self.params, PhraseInWindowParams)
        self.p = self.params
        self.matcher = self.env.matcher(self.p.match)
        self.example = (self.p.match.phrases or self.p.match.patterns or self.p.match.exact_patterns)[0]
        self.where = self.WHERE.get(self.env.family, self.WHERE["en"])[self.p.window.anchor]

    def run(self, ctx: CallContext) -> Finding:
        p = self.p
        if not ctx.by_role(p.role):
            return self.finding("not_applicable")
        utts = ctx.window(p.role, p.window)
        found = ctx.first_hit(self.matcher, utts)
        if found is None:
            return self.finding("fail", [ctx.evidence(u) for u in utts[:2]], where=self.where, example=self.example)
        utt, hit = found
        return self.finding("pass", [ctx.evidence(utt, hit)], data={"matched": hit.phrase},
                            quote=quote(utt.utt.text))

    def describe(self) -> str:
        w = self.p.window
        within = f" (within {w.within_s:g} s)" if w.within_s else ""
        where = ANCHOR_DOC[w.anchor].format(turns=w.turns or "all", within=within)
        return f"Looks at {self.p.role} speech in {where}."
