"""Per-call state shared by all checks: utterances prepared once, windows, silences."""

from __future__ import annotations

import logging
from bisect import bisect_left
from itertools import pairwise
from typing import NamedTuple

from ..text import language_family
from ..types import Evidence, Transcript
from .matching import Hit, Matcher, PhraseBook, Prepared, prepare_all
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
        self.utts: list[Prepared] = prepare_all(transcript.utterances, self.family)
        book.screen().scan_all(self.utts)
        if deadline is not None:
            for p in self.utts:
                p.deadline = deadline
        self.agent = [p for p in self.utts if p.role == "agent"]
        self.customer = [p for p in self.utts if p.role == "customer"]
        self._silences: list[Silence] | None = None
        self._starts: dict[str, list[float]] = {}  # per role: its utterances' starts (when in time order)
        self._in_order: bool | None = None
        self._talk: dict[str, float] = {}

    def by_role(self, role: str) -> list[Prepared]:
        if role == "agent":
            return self.agent
        if role == "customer":
            return self.customer
        if role == "any":
            return self.utts
        return [p for p in self.utts if p.role == role]

    def _role_starts(self, role: str) -> list[float] | None:
        """The starts of ``role``'s utterances, or None when the call's utterances are not in time order."""
        if self._in_order is None:
            starts = [p.utt.start for p in self.utts]
            self._in_order = all(a <= b for a, b in pairwise(starts))
            self._starts["any"] = starts
        if not self._in_order:
            return None
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
            utts = self.utts if role == "agent+customer" else self.by_role(role)
            roles = ("agent", "customer") if role == "agent+customer" else (role,)
            spans = [(u.start, u.end) for u in (p.utt for p in utts if p.role in roles)]
            found = self._talk[role] = sum([d if (d := end - start) > 0.0 else 0.0 for start, end in spans])
        return found

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
            in_order = self._role_starts("any") is not None
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
        return Evidence(start=p.utt.start, end=p.utt.end, text=p.utt.text,
                        similarity=None if hit is None else hit.similarity)
