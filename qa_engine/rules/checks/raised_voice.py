"""``raised_voice``: a speaker (the agent by default) gets much louder than their own usual level.

Loudness is judged against the speaker's *own* median (``transcript.acoustics``, qa_engine.acoustics), so a
loud line or a close microphone is not a raised voice; only ``min_db_above`` dB above it for ``min_duration_s``
seconds without a pause is. Without audio (a transcript upload) there is nothing to hear: not applicable.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ...acoustics import raised_spans
from ...types import Evidence, Finding
from ..context import CallContext
from ..registry import Check, register
from ..schema import StrictModel


class RaisedVoiceParams(StrictModel):
    role: Literal["agent", "customer"] = "agent"
    min_db_above: float = Field(default=8.0, gt=0, le=60)  # X: dB above the speaker's median
    min_duration_s: float = Field(default=2.0, gt=0, le=600)  # Y: held this long


@register("raised_voice")
class RaisedVoice(Check):
    """Fail on any stretch ≥ ``min_db_above`` dB over the speaker's median lasting ≥ ``min_duration_s``."""

    Params = RaisedVoiceParams
    MESSAGES = {
        "zh": {"pass": "坐席音量平稳，没有持续{min_s:g}秒以上高出自身中位音量{min_db:g}分贝的情况。",
               "fail": "坐席在{start:.0f}秒处提高音量（高出自身中位音量{db:.0f}分贝，持续{duration:.0f}秒），"
                       "共{count}处。",
               "not_applicable": "没有录音（或该方没有发言），无法判断音量。"},
        "en": {"pass": "The speaker's voice stayed even: never {min_db:g} dB above their own median for "
                       "{min_s:g} s or more.",
               "fail": "The speaker raised their voice at {start:.0f} s ({db:.0f} dB above their own median for "
                       "{duration:.0f} s); {count} time(s) in all.",
               "not_applicable": "There is no audio for this call (or no speech by this party): loudness "
                                 "cannot be judged."},
    }

    def compile(self) -> None:
        assert isinstance(self.params, RaisedVoiceParams)
        self.p = self.params

    def run(self, ctx: CallContext) -> Finding:
        acoustics = ctx.transcript.acoustics
        track = acoustics.track(self.p.role) if acoustics is not None else None
        if track is None:
            return self.finding("not_applicable")
        spans = raised_spans(track, self.p.min_db_above, self.p.min_duration_s)
        if not spans:
            return self.finding("pass", data={"median_dbfs": track.median_dbfs}, min_db=self.p.min_db_above,
                                min_s=self.p.min_duration_s)
        worst = max(spans, key=lambda s: s.db_above_median)
        data = {"median_dbfs": track.median_dbfs, "spans": [[s.start, s.end, s.db_above_median] for s in spans[:20]]}
        return self.finding("fail", [Evidence(s.start, s.end, "", None) for s in spans[:20]], data=data,
                            start=worst.start, db=worst.db_above_median, duration=worst.end - worst.start,
                            count=len(spans))

    def describe(self) -> str:
        return (f"The {self.p.role}'s loudness (0.5 s steps) at least {self.p.min_db_above:g} dB above their "
                f"own median for {self.p.min_duration_s:g} s or more fails; no audio: not applicable.")
