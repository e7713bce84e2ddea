"""Findings -> score, grade and CallReport: the one entry point the pipeline calls.

score = 100 * (sum of weights of passed rules) / (sum of weights of applicable rules);
``not_applicable`` rules leave the denominator.  A failed rule with ``on_fail`` then caps
(``cap: 59``) or zeroes (``zero: true``) the whole score.  The grade is the pack's highest
band whose threshold the score reaches.
"""

from __future__ import annotations

import logging
import time

from . import __version__
from .pii import mask_finding, mask_transcript
from .rules.pack import Pack
from .types import CallReport, Finding, Transcript

logger = logging.getLogger(__name__)

__all__ = ["score_findings", "score_transcript"]


def score_findings(findings: list[Finding] | tuple[Finding, ...], pack: Pack) -> float:
    """The 0-100 score for a set of findings under the pack's weights and caps."""
    total = passed = 0.0
    for f in findings:
        if f.status == "not_applicable" or f.weight <= 0:
            continue
        total += f.weight
        if f.status == "pass":
            passed += f.weight
    score = 100.0 * passed / total if total > 0 else 100.0
    rules = {r.id: r for r in pack.rules}
    for f in findings:
        rule = rules.get(f.rule_id)
        if f.status == "fail" and rule is not None and rule.on_fail is not None:
            if rule.on_fail.zero:
                score = 0.0
            elif rule.on_fail.cap is not None:
                score = min(score, rule.on_fail.cap)
    return round(score, 1)


def score_transcript(transcript: Transcript, pack: Pack, *, mask_pii: bool = True) -> CallReport:
    """Run the pack on the (unmasked) transcript; the report's texts are PII-masked by default."""
    t0 = time.perf_counter()
    findings = pack.run(transcript)
    t1 = time.perf_counter()
    score = score_findings(findings, pack)
    labels = {f.data.get("target"): f.data.get("label") for f in findings if f.data.get("target")}
    if mask_pii:
        findings = [mask_finding(f) for f in findings]
        transcript = mask_transcript(transcript)
    t2 = time.perf_counter()
    logger.debug("scored %s with %s v%s: %.1f", transcript.call_id, pack.id, pack.version, score)
    return CallReport(
        call_id=transcript.call_id, transcript=transcript, pack_id=pack.id, pack_version=pack.version,
        score=score, grade=pack.grade_for(score), findings=tuple(findings),
        category=labels.get("category"), priority=labels.get("priority"),
        timings={"rules": t1 - t0, "scoring": t2 - t1}, engine_version=__version__,
    )
