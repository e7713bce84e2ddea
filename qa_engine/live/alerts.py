"""Rules evaluated while a call is still going: the pack's own checks, run on the transcript so far.

Why the pack's checks and not keyword lists of our own: a live alert and the final report must agree
(same fuzzy, pinyin-aware matching, same allow-lists). Three kinds of rule can be decided early:

- ``forbidden``: a violation is final the moment it is heard;
- ``response_after`` (complaint -> apology): a trigger with no response once ``within_s`` has passed;
- ``phrase_in_window`` anchored on the first agent turns (greeting): nothing matching after N seconds;
- ``condition`` with ``expect: absent`` whose operators are all incremental (phrase, regex, role, position
  first_turns/first_s, and all/any/not/at_least of those): a match is final the moment its utterance is heard.
  Anchors, repetition, silence, talk-over and last_* positions depend on turns not yet heard (or re-ordered by a
  slow ASR queue), so such rules wait for the final report.

Times are judged against the *settled* time: the point up to which every utterance has been
transcribed, so a slow ASR queue delays alerts instead of raising false ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..rules import Pack
from ..types import Finding, Transcript, Utterance


@dataclass(frozen=True)
class LiveAlert:
    """One alert: which rule, what kind, when in the call, the evidence and a readable sentence."""

    rule_id: str
    kind: str  # forbidden_phrase | complaint_without_apology | no_greeting | condition_matched
    severity: str
    at: float
    text: str
    explanation: str


class LiveRules:
    """Runs the early-decidable checks of ``pack`` and yields each alert once."""

    def __init__(self, pack: Pack, *, greeting_after_s: float | None = None) -> None:
        self.pack = pack
        self.greeting_after_s = greeting_after_s
        self._forbidden = [c for c in pack.checks if c.rule.enabled and c.rule.type == "forbidden"]
        self._responses = [c for c in pack.checks if c.rule.enabled and c.rule.type == "response_after"]
        self._greetings = [c for c in pack.checks if c.rule.enabled and c.rule.type == "phrase_in_window"
                           and _window(c).get("anchor") == "first_agent_turns"]
        self._conditions = [c for c in pack.checks if c.rule.enabled and c.rule.type == "condition"
                            and getattr(c, "live", False)]
        self._sent: set[tuple[str, float]] = set()

    def evaluate(self, call_id: str, utterances: list[Utterance], settled_s: float) -> list[LiveAlert]:
        """New alerts for the transcript so far (``utterances`` sorted by start)."""
        transcript = Transcript(call_id, self.pack.language, settled_s, tuple(utterances))
        ctx = self.pack.context(transcript)
        alerts: list[LiveAlert] = []
        for check in self._forbidden:
            finding = check.run(ctx)
            if finding.status == "fail":
                alerts += self._once(finding, "forbidden_phrase", all_evidence=True)
        for check in self._conditions:
            finding = check.run(ctx)
            if finding.status == "fail":
                alerts += self._once(finding, "condition_matched", all_evidence=True)
        for check in self._responses:
            finding = check.run(ctx)
            within = float(getattr(getattr(check.params, "response", None), "within_s", 30.0))
            if finding.status == "fail" and finding.evidence and finding.evidence[0].end + within <= settled_s:
                alerts += self._once(finding, "complaint_without_apology")
        for check in self._greetings:
            after = self.greeting_after_s or float(_window(check).get("within_s") or 15.0)
            if settled_s >= after and check.run(ctx).status != "pass":
                finding = Finding(check.rule.id, "fail", check.rule.severity, check.rule.weight,
                                  explanation=f"no {check.rule.id} phrase in the first {after:g} s of the call")
                alerts += self._once(finding, "no_greeting", at=after)
        return alerts

    def _once(self, finding: Finding, kind: str, *, all_evidence: bool = False,
              at: float | None = None) -> list[LiveAlert]:
        out: list[LiveAlert] = []
        evidence = finding.evidence if all_evidence else finding.evidence[:1]
        for ev in evidence or [None]:
            when = at if at is not None else (ev.start if ev is not None else 0.0)
            key = (finding.rule_id, round(when, 2))
            if key in self._sent:
                continue
            self._sent.add(key)
            out.append(LiveAlert(finding.rule_id, kind, finding.severity, when, ev.text if ev is not None else "",
                                 finding.explanation))
        return out


def _window(check: Any) -> dict[str, Any]:
    window = getattr(check.params, "window", None)
    return window.model_dump() if window is not None else {}
