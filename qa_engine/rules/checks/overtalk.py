"""``overtalk``: the agent talks over the customer too long in total or too often.

An overtalk is a stretch where both parties speak at once; the agent *started* it when the customer was already
speaking. With audio (``transcript.acoustics``) the spans come from the two voices frame by frame (stereo) or
the diarized utterances (mono); without audio (a transcript upload) from the utterance times. The finding's
``data.source`` says which. Supersedes the ``interruptions`` metric rule in the standard packs: same idea (agent
starts while the customer talks, overlaps under ``min_overlap_s`` tolerated), plus the total time talked over.
"""

from __future__ import annotations

from pydantic import Field

from ...acoustics import OvertalkSpan, overtalk_from_utterances
from ...types import Evidence, Finding
from ..context import CallContext
from ..registry import Check, register
from ..schema import StrictModel


class OvertalkParams(StrictModel):
    max_total_s: float = Field(default=6.0, ge=0, le=86400)  # N: agent-started overtalk seconds tolerated
    max_count: int = Field(default=2, ge=0, le=10000)  # M: agent-started overtalks tolerated
    min_overlap_s: float = Field(default=0.5, ge=0, le=60)  # shorter overlaps (backchannel, word edges) ignored


@register("overtalk")
class AgentOvertalk(Check):
    """Fail when agent-started overtalk exceeds ``max_total_s`` seconds in total or ``max_count`` times."""

    Params = OvertalkParams
    MESSAGES = {
        "zh": {"pass": "坐席抢话{count}次，共{total:.1f}秒，在标准范围内（≤{max_count}次且≤{max_total:g}秒）。",
               "fail": "坐席抢话{count}次，共{total:.1f}秒，超出标准（≤{max_count}次且≤{max_total:g}秒）；"
                       "首次在{first:.0f}秒处。",
               "not_applicable": "通话中没有坐席和客户双方的发言，无法判断抢话。"},
        "en": {"pass": "The agent talked over the customer {count} time(s), {total:.1f} s in total: within the "
                       "standard (≤{max_count} times, ≤{max_total:g} s).",
               "fail": "The agent talked over the customer {count} time(s), {total:.1f} s in total: beyond the "
                       "standard (≤{max_count} times, ≤{max_total:g} s); first at {first:.0f} s.",
               "not_applicable": "Overtalk cannot be judged: the call lacks speech from the agent or the customer."},
    }

    def compile(self) -> None:
        assert isinstance(self.params, OvertalkParams)
        self.p = self.params

    def run(self, ctx: CallContext) -> Finding:
        if not ctx.agent or not ctx.customer:
            return self.finding("not_applicable")
        acoustics = ctx.transcript.acoustics
        spans: list[OvertalkSpan] | tuple[OvertalkSpan, ...]
        if acoustics is not None:
            spans, source = acoustics.overtalk, f"audio ({acoustics.source})"
        else:
            spans, source = overtalk_from_utterances(ctx.transcript.utterances), "utterance times"
        mine = [s for s in spans if s.started_by == "agent" and s.duration >= self.p.min_overlap_s]
        total = sum(s.duration for s in mine)
        ok = len(mine) <= self.p.max_count and total <= self.p.max_total_s
        data = {"count": len(mine), "total_s": round(total, 2), "source": source}
        evidence = [Evidence(s.start, s.end, "", None) for s in mine[:20]]
        return self.finding("pass" if ok else "fail", evidence, data=data, count=len(mine), total=total,
                            max_count=self.p.max_count, max_total=self.p.max_total_s,
                            first=mine[0].start if mine else 0.0)

    def describe(self) -> str:
        return (f"Agent-started overtalk of {self.p.min_overlap_s:g} s or more: passes with at most "
                f"{self.p.max_count} of them and {self.p.max_total_s:g} s in total.")
