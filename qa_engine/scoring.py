"""Findings -> score, grade and CallReport: the one entry point the pipeline calls.

score = 100 * (sum of weights of passed rules) / (sum of weights of applicable rules);
``not_applicable`` rules leave the denominator.  A failed rule with ``on_fail`` then caps
(``cap: 59``) or zeroes (``zero: true``) the whole score.  The grade is the pack's highest
band whose threshold the score reaches.
"""

from __future__ import annotations

import logging
import time
from bisect import bisect_left, bisect_right
from dataclasses import replace
from operator import attrgetter, itemgetter
from typing import Any

from . import __version__, native
from .acoustics import acoustics_analytics
from .pii import PiiSpan, find_pii_spans, mask_text, redact_call, redact_transcript
from .rules.pack import Pack
from .sentiment import annotate, summary_dict
from .types import CallReport, Finding, Redaction, Transcript, Utterance, build

logger = logging.getLogger(__name__)
_NATIVE = native.load("_edges")  # qa_engine/native/_edges.c: _edge_times without word timings (None: Python's)

__all__ = ["NO_AGENT_SPEECH", "redactions", "score_findings", "score_transcript", "unscorable_reason"]


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


NO_AGENT_SPEECH = "no agent speech: nothing to score"


def unscorable_reason(transcript: Transcript) -> str | None:
    """Why ``transcript`` cannot be scored (None when it can): every rule judges the agent, so a call in which
    the agent says nothing (silence, a customer-only recording) has no score, not 100. Speech whose role is
    ``unknown`` (no diarization) may be the agent's: such a call is still checked."""
    if not any(u.text.strip() for u in transcript.utterances if u.role in ("agent", "unknown")):
        return NO_AGENT_SPEECH
    return None


def score_transcript(transcript: Transcript, pack: Pack | None, *, mask_pii: bool = True,
                     unscorable: str | None = None) -> CallReport:
    """Run the pack on the (unmasked) transcript; the report's texts are PII-masked by default.

    A transcript without agent speech, or one given an ``unscorable`` reason (no pack for its language: ``pack``
    None), gives an ``unscorable`` report: no findings, score and grade None, the reason.
    """
    transcript = annotate(transcript)  # every utterance's sentiment, from the unmasked text, before the rules read it
    analytics: dict[str, Any] = {"sentiment": summary_dict(transcript)}
    acoustics = acoustics_analytics(transcript)  # None for a call scored from text alone
    if acoustics is not None:
        analytics["acoustics"] = acoustics
    reason = unscorable_reason(transcript) or unscorable
    if reason is not None:
        if mask_pii:
            transcript = replace(transcript, call_id=mask_text(transcript.call_id))
            transcript, spans = redact_transcript(transcript)
        else:
            spans = find_pii_spans(transcript)
        logger.info("%s is not scorable: %s", transcript.call_id, reason)
        return CallReport(call_id=transcript.call_id, pack_id=pack.id if pack else None,
                          pack_version=pack.version if pack else None, transcript=transcript,
                          engine_version=__version__, status="unscorable", reason=reason,
                          redactions=redactions(transcript, spans), analytics=analytics)
    if pack is None:
        raise ValueError("score_transcript needs a pack, or the reason the call is unscorable")
    t0 = time.perf_counter()
    findings = pack.run(transcript)
    t1 = time.perf_counter()
    score = score_findings(findings, pack)
    labels = {f.data.get("target"): f.data.get("label") for f in findings if f.data.get("target")}
    if mask_pii:  # the findings quote utterances: masked as the transcript masks them (numbers split over two)
        transcript = replace(transcript, call_id=mask_text(transcript.call_id))
        transcript, findings, spans = redact_call(transcript, findings)
    else:  # the text stays as it was; where identifiers were spoken is still reported (to redact the audio)
        spans = find_pii_spans(transcript)
    t2 = time.perf_counter()
    logger.debug("scored %s with %s v%s: %.1f", transcript.call_id, pack.id, pack.version, score)
    return CallReport(
        call_id=transcript.call_id, transcript=transcript, pack_id=pack.id, pack_version=pack.version,
        score=score, grade=pack.grade_for(score), findings=tuple(findings),
        category=labels.get("category"), priority=labels.get("priority"),
        timings={"rules": t1 - t0, "scoring": t2 - t1}, engine_version=__version__,
        redactions=redactions(transcript, spans), analytics=analytics,
    )


def redactions(transcript: Transcript, spans: list[PiiSpan]) -> tuple[Redaction, ...]:
    """PII spans as report redactions: times, the speaker's channel (None on a mono recording), kind; in time order.

    Each also carries its ``room``: from the end of the channel's previous word to the start of its next word that
    is not masked (on a mono recording: any speaker's), so the audio redaction can cover the whole spoken number.
    """
    if not spans:
        return ()
    utts = transcript.utterances
    mono = transcript.agent_channel is None and (set(map(_CHANNEL, utts)) <= {None, 0} if _NATIVE is None
                                                 else _NATIVE.mono_channels(utts))
    # only the channels a span is on are looked up (on a mono recording: all speech)
    edges = {ch: _edge_times(utts, ch, mono, spans)
             for ch in {None if mono else utts[s.utterance_index].channel for s in spans}}
    if _NATIVE is not None and (made := _NATIVE.redaction_list(spans, PiiSpan, utts, mono, edges,
                                                               transcript.duration, Redaction)) is not None:
        return made  # what the loop below gives (plain spans and edges)
    return _python_redaction_list(spans, utts, mono, edges, transcript.duration)


def _python_redaction_list(spans: list[PiiSpan], utts: tuple[Utterance, ...], mono: bool,
                           edges: dict[int | None, tuple[list[float], list[float]]], duration: float
                           ) -> tuple[Redaction, ...]:
    """:func:`redactions`' loop over the spans in Python (the reference of the native ``redaction_list``)."""
    # one redaction per distinct (start, end, channel, kind, exact), the first; keyed by that tuple (C-level hash)
    # and sorted by (start, end, channel) from a key made here (a stable sort, as of the redactions themselves)
    out: dict[tuple[Any, ...], tuple[tuple[float, float, int], Redaction]] = {}
    for s in spans:  # sorted starts/ends + bisect: one lookup per span, not a scan of every word of the call
        ch = None if mono else utts[s.utterance_index].channel
        key = (s.start, s.end, ch, s.kind, s.exact)
        if key in out:
            continue
        ch_starts, ch_ends = edges.get(ch, _NO_EDGES)
        k = bisect_right(ch_ends, s.start)
        before = ch_ends[k - 1] if k else 0.0
        k = bisect_left(ch_starts, s.end)
        after = ch_starts[k] if k < len(ch_starts) else duration or s.end
        out[key] = ((s.start, s.end, -1 if ch is None else ch),
                    build(Redaction, start=s.start, end=s.end, channel=ch, kind=s.kind, exact=s.exact,
                          room=(min(before, s.start), max(after, s.end))))  # (no frozen __init__: one per span)
    return tuple([r for _, r in sorted(out.values(), key=_FIRST)])


_CHANNEL = attrgetter("channel")
_START = attrgetter("start")
_END = attrgetter("end")
_WORDS = attrgetter("words")
_FIRST = itemgetter(0)
_NO_EDGES: tuple[list[float], list[float]] = ([], [])


def _edge_times(utts: tuple[Utterance, ...], channel: int | None, mono: bool, spans: list[PiiSpan]
                ) -> tuple[list[float], list[float]]:
    """The sorted starts and ends of the speech of ``channel`` (``mono``: all speech) that is not masked: speech
    without words counts whole unless it holds a span, words count unless masked."""
    with_span = {s.utterance_index for s in spans}
    if _NATIVE is not None and (edges := _NATIVE.speech_edges(utts, channel, mono, with_span)) is not None:
        return edges  # no word timings: what the first branch below gives
    return _python_edge_times(utts, channel, mono, spans, with_span)


def _python_edge_times(utts: tuple[Utterance, ...], channel: int | None, mono: bool, spans: list[PiiSpan],
                       with_span: set[int]) -> tuple[list[float], list[float]]:
    """:func:`_edge_times` in Python (the reference of the native ``speech_edges``, and the path for word timings)."""
    mine = utts if mono else [u for u in utts if u.channel == channel]
    if not any(map(_WORDS, mine)):  # no word timings (a text transcript): C-level passes over the utterances
        if mono:
            keep = list(utts)
            for i in sorted(with_span, reverse=True):
                del keep[i]
        else:
            keep = [u for i, u in enumerate(utts) if u.channel == channel and i not in with_span]
        return sorted(map(_START, keep)), sorted(map(_END, keep))
    masked = {(s.utterance_index, j) for s in spans for j in s.word_indices}
    pairs = list(enumerate(utts)) if mono else [(i, u) for i, u in enumerate(utts) if u.channel == channel]
    plain = [u for i, u in pairs if not u.words and i not in with_span]
    worded = [w for i, u in pairs if u.words
              for w in ([w for j, w in enumerate(u.words) if (i, j) not in masked] if i in with_span else u.words)]
    return (sorted([u.start for u in plain] + [w.start for w in worded]),
            sorted([u.end for u in plain] + [w.end for w in worded]))
