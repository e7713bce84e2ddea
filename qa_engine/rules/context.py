"""Per-call state shared by all checks: utterances prepared once, windows, silences."""

from __future__ import annotations

import logging
import math
from bisect import bisect_left
from itertools import accumulate, compress, repeat
from operator import attrgetter, le, sub
from typing import NamedTuple

from ..text import language_family
from ..types import Evidence, Transcript, build
from .matching import Hit, Matcher, PhraseBook, Prepared, prepare_call
from .schema import WindowSpec
from .time_limit import Deadline

logger = logging.getLogger(__name__)

__all__ = ["CallContext", "Silence"]


class Silence(NamedTuple):
    """A stretch inside the call where nobody speaks; ``before``/``after`` are utterance indexes.

    A named tuple: a call has one per pause between turns (~80), made on every checked call.
    """

    start: float
    end: float
    before: int
    after: int

    @property
    def duration(self) -> float:
        return self.end - self.start


def _start(p: Prepared) -> float:
    return p.utt.start


class CallContext:
    """What checks see: the transcript plus prepared utterances in time order."""

    def __init__(self, transcript: Transcript, book: PhraseBook, language: str,
                 deadline: Deadline | None = None) -> None:
        self.transcript = transcript
        self.language = language
        self.family = language_family(language)
        self.book = book
        self.deadline = deadline
        self.utts, self.agent, self.customer = prepare_call(transcript.utterances, self.family, book.screen(), deadline)
        self._silences: list[Silence] | None = None
        self._edges: tuple[list[float], list[float], bool] | None = None
        self._starts: dict[str, list[float]] = {}  # per role: its utterances' starts (when in time order)
        self._talk: dict[str, float] = {}

    def by_role(self, role: str) -> list[Prepared]:
        if role == "agent":
            return self.agent
        if role == "customer":
            return self.customer
        if role == "any":
            return self.utts
        return [p for p in self.utts if p.role == role]

    def edges(self) -> tuple[list[float], list[float], bool]:
        """The starts and the ends of the utterances in time order (sorted only when they are not in it
        already), and whether they were: the speech edges pauses are measured between, read once per call."""
        if self._edges is None:
            starts = [p.utt.start for p in self.utts]
            if starts == sorted(starts):  # (C level: sorting a sorted list is one pass)
                self._edges = (starts, [p.utt.end for p in self.utts], True)
            else:
                seq = sorted([p.utt for p in self.utts], key=attrgetter("start"))
                self._edges = ([u.start for u in seq], [u.end for u in seq], False)
        return self._edges

    def _role_starts(self, role: str) -> list[float] | None:
        """The starts of ``role``'s utterances, or None when the call's utterances are not in time order."""
        starts, _, in_order = self.edges()
        if not in_order:
            return None
        if role == "any":
            return starts
        found = self._starts.get(role)
        if found is None:
            found = self._starts[role] = [p.utt.start for p in self.by_role(role)]
        return found

    def started_before(self, role: str, t: float) -> list[Prepared]:
        """``role``'s utterances that start before ``t`` (a slice found by bisection when in time order)."""
        starts = self._role_starts(role)
        utts = self.by_role(role)
        if starts is None:
            return [p for p in utts if p.utt.start < t]
        return utts[:bisect_left(starts, t)]

    def started_from(self, role: str, t: float) -> list[Prepared]:
        """``role``'s utterances that start at ``t`` or later."""
        starts = self._role_starts(role)
        utts = self.by_role(role)
        if starts is None:
            return [p for p in utts if p.utt.start >= t]
        return utts[bisect_left(starts, t):]

    def talk_time(self, role: str) -> float:
        """Seconds ``role`` speaks, summed in call order (``role`` "agent+customer": both parties)."""
        found = self._talk.get(role)
        if found is None:
            if role == "agent+customer":
                utts = self.utts
                if len(self.agent) + len(self.customer) != len(utts):
                    utts = [p for p in utts if p.role in ("agent", "customer")]
            else:
                utts = self.by_role(role)
            found = self._talk[role] = sum([d for u in [p.utt for p in utts] if (d := u.end - u.start) > 0.0])
        return found

    def long_silences(self, min_s: float) -> list[tuple[float, float]]:
        """``(start, end)`` of the :meth:`silences` that last ``min_s`` (> 0) or more, without building the others.

        A silence runs from the latest end so far to the next start, so a long one follows a gap of ``min_s`` or
        more between neighbours in time order: only those few gaps are looked at in Python.
        """
        starts, ends, _ = self.edges()
        out: list[tuple[float, float]] = []
        latest, seen = -math.inf, 0
        for i in compress(range(len(ends) - 1), map(le, repeat(min_s), map(sub, starts[1:], ends))):
            latest = max(latest, max(ends[seen: i + 1]))
            seen = i + 1
            if starts[i + 1] - latest >= min_s:
                out.append((latest, starts[i + 1]))
        return out

    def longest_silence(self) -> float:
        """The longest of :meth:`silences` (0.0 when there is none), without building them.

        A silence is at most the gap after the utterance before it: when the widest such gap follows the latest
        end so far, it is the answer; otherwise every gap is measured from the latest end.
        """
        starts, ends, _ = self.edges()
        gaps = list(map(sub, starts[1:], ends))
        if not gaps:
            return 0.0
        longest = max(gaps)
        i = gaps.index(longest)
        if max(ends[: i + 1]) != ends[i]:  # an earlier utterance runs on past this one
            longest = max(map(sub, starts[1:], accumulate(ends, max)))
        return longest if longest > 0.0 else 0.0

    def find(self, matcher: Matcher, p: Prepared) -> Hit | None:
        return matcher.find(p)

    def first_hit(self, matcher: Matcher, utts: list[Prepared]) -> tuple[Prepared, Hit] | None:
        for p in matcher.may_hit(utts):
            hit = matcher.find(p)
            if hit is not None:
                return p, hit
        return None

    def window(self, role: str, spec: WindowSpec) -> list[Prepared]:
        """The utterances of ``role`` inside a window anchored as ``spec`` says."""
        utts = self.by_role(role)[spec.skip_first_turns:]
        if not utts:
            return []
        anchor = spec.anchor
        if anchor == "whole_call":
            return list(utts)
        if anchor in ("first_agent_turns", "call_start"):
            t0 = self.agent[0].utt.start if anchor == "first_agent_turns" and self.agent else 0.0
            chosen = utts[: spec.turns] if spec.turns else list(utts)
            if spec.within_s is not None:
                chosen = [p for p in chosen if p.utt.start <= t0 + spec.within_s]
            return chosen
        t1 = self.agent[-1].utt.end if anchor == "last_agent_turns" and self.agent else self.transcript_end
        chosen = utts[-spec.turns:] if spec.turns else list(utts)
        if spec.within_s is not None:
            chosen = [p for p in chosen if p.utt.end >= t1 - spec.within_s]
        return chosen

    @property
    def transcript_end(self) -> float:
        last = max((u.end for u in self.transcript.utterances), default=0.0)
        return max(last, self.transcript.duration)

    def silences(self) -> list[Silence]:
        """Gaps between merged speech of all parties, inside the call (not before/after)."""
        if self._silences is None:
            out: list[Silence] = []
            end = None
            last_idx = -1
            in_order = self.edges()[2]
            for p in (self.utts if in_order else sorted(self.utts, key=_start)):
                u = p.utt
                if end is not None and u.start > end:
                    out.append(Silence(end, u.start, last_idx, p.index))
                if end is None or u.end >= end:
                    end = u.end
                    last_idx = p.index
            self._silences = out
        return self._silences

    @staticmethod
    def evidence(p: Prepared, hit: Hit | None = None) -> Evidence:
        """The utterance (and the hit's similarity) as evidence; built by :func:`build` (most findings quote one)."""
        u = p.utt
        return build(Evidence, start=u.start, end=u.end, text=u.text,
                     similarity=None if hit is None else hit.similarity)
