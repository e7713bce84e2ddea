"""Condition tree nodes and their evaluation over one call.

Every node answers one question per utterance ("does this utterance satisfy me?"), so a whole tree is evaluated
as sets of utterances, held as Python ints used as bit sets (bit ``i`` = ``ctx.utts[i]``): ``all`` is ``&``,
``any`` is ``|``, ``not`` is ``domain & ~x``.  Each node gets the *domain* (the utterances still in question) and
only looks at those, so in ``all: [role: agent, phrase: ...]`` the costly phrase matching runs on agent turns
only: the cheap structural nodes are evaluated first.

``incremental`` marks what the live checker can decide while the call is still going (see
:mod:`qa_engine.live.alerts`): a node whose answer for an utterance never changes once the utterance is heard.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Literal

from ..context import CallContext
from ..matching import Matcher

__all__ = ["All", "Anchor", "AtLeast", "Any", "Evaluation", "Node", "Not", "Phrase", "Position", "Regex",
           "Repeated", "Role", "Silence", "TalkOver", "bits"]


def bits(mask: int) -> list[int]:
    """The indexes of the set bits of ``mask``, lowest first."""
    out = []
    i = 0
    while mask:
        if mask & 1:
            out.append(i)
        mask >>= 1
        i += 1
    return out


class Evaluation:
    """One call: the context, the full set, and the masks of referenced sub-trees (each computed once)."""

    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx
        self.full = (1 << len(ctx.utts)) - 1
        self.memo: dict[int, int] = {}

    def whole(self, node: Node) -> int:
        """``node`` over the whole call (for anchors and repetition, whose reference is not limited to the domain)."""
        key = id(node)
        got = self.memo.get(key)
        if got is None:
            got = self.memo[key] = node.eval(self, self.full)
        return got

    def matching(self, matcher: Matcher, domain: int) -> int:
        out = 0
        utts = self.ctx.utts
        for i in bits(domain):
            if matcher.find(utts[i]) is not None:
                out |= 1 << i
        return out


class Node:
    """Base: ``eval(ev, domain)`` returns the subset of ``domain`` that satisfies the node."""

    #: a rough relative cost: children of ``all``/``any`` are evaluated cheapest first
    cost: int = 1

    def eval(self, ev: Evaluation, domain: int) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def incremental(self) -> bool:
        return False


class Combination(Node):
    """A node over child nodes (``all``, ``any``, ``at_least``): children run cheapest first (each one's result
    only narrows what the next one looks at, never changes the answer); it costs as much as its dearest child and
    is incremental when every child is."""

    children: list[Node]

    def __post_init__(self) -> None:
        self.children = sorted(self.children, key=lambda c: c.cost)
        self.cost = max((c.cost for c in self.children), default=1)

    @property
    def incremental(self) -> bool:
        return all(c.incremental for c in self.children)


class PerUtterance(Node):
    """A node that an utterance's own text or speaker decides: known as soon as the utterance is heard."""

    @property
    def incremental(self) -> bool:
        return True


@dataclass(eq=False)
class All(Combination):
    children: list[Node]
    cost: int = 0

    def eval(self, ev: Evaluation, domain: int) -> int:
        for child in self.children:
            if not domain:
                break
            domain = child.eval(ev, domain)
        return domain


@dataclass(eq=False)
class Any(Combination):
    children: list[Node]
    cost: int = 0

    def eval(self, ev: Evaluation, domain: int) -> int:
        found = 0
        for child in self.children:
            rest = domain & ~found
            if not rest:
                break
            found |= child.eval(ev, rest)
        return found


@dataclass(eq=False)
class Not(Node):
    child: Node
    cost: int = 0

    def __post_init__(self) -> None:
        self.cost = self.child.cost

    def eval(self, ev: Evaluation, domain: int) -> int:
        return domain & ~self.child.eval(ev, domain)

    @property
    def incremental(self) -> bool:
        return self.child.incremental


@dataclass(eq=False)
class AtLeast(Combination):
    n: int
    children: list[Node]
    cost: int = 0

    def eval(self, ev: Evaluation, domain: int) -> int:
        counts: dict[int, int] = {}
        need, left = self.n, len(self.children)
        for child in self.children:
            for i in bits(child.eval(ev, domain)):
                counts[i] = counts.get(i, 0) + 1
            left -= 1
            # utterances that can no longer reach n leave the domain
            domain &= sum(1 << i for i in bits(domain) if counts.get(i, 0) + left >= need)
            if not domain:
                return 0
        return sum(1 << i for i, c in counts.items() if c >= need) & domain


@dataclass(eq=False)
class Phrase(PerUtterance):
    """The pack's fuzzy, sound-alike phrase matching (the same as every other rule's ``match.phrases``)."""

    matcher: Matcher
    cost: int = 10

    def eval(self, ev: Evaluation, domain: int) -> int:
        return ev.matching(self.matcher, domain)


@dataclass(eq=False)
class Regex(PerUtterance):
    """An RE2 pattern on the normalised text; ``unless``: an utterance where the exclusion pattern matches is out."""

    matcher: Matcher
    unless: Matcher | None = None
    cost: int = 8

    def eval(self, ev: Evaluation, domain: int) -> int:
        found = ev.matching(self.matcher, domain)
        if found and self.unless is not None:
            found &= ~ev.matching(self.unless, found)
        return found


@dataclass(eq=False)
class Role(PerUtterance):
    role: str
    cost: int = 0

    def eval(self, ev: Evaluation, domain: int) -> int:
        mask = 0
        for p in ev.ctx.by_role(self.role):
            mask |= 1 << p.index
        return domain & mask


@dataclass(eq=False)
class Position(Node):
    """Where in the call: the speaker's own first/last N turns, or the first/last S seconds of the call."""

    kind: Literal["first_turns", "last_turns", "first_s", "last_s"]
    value: float
    cost: int = 0

    def eval(self, ev: Evaluation, domain: int) -> int:
        ctx = ev.ctx
        mask = 0
        if self.kind in ("first_turns", "last_turns"):
            n = int(self.value)
            by_role: dict[str, list[int]] = {}
            for p in ctx.utts:
                by_role.setdefault(p.role, []).append(p.index)
            for idx in by_role.values():
                for i in (idx[:n] if self.kind == "first_turns" else idx[-n:]):
                    mask |= 1 << i
        elif self.kind == "first_s":
            for p in ctx.utts:
                if p.utt.start <= self.value:
                    mask |= 1 << p.index
        else:
            end = ctx.transcript_end
            for p in ctx.utts:
                if p.utt.end >= end - self.value:
                    mask |= 1 << p.index
        return domain & mask

    @property
    def incremental(self) -> bool:
        return self.kind in ("first_turns", "first_s")


@dataclass(eq=False)
class Anchor(Node):
    """``after``/``before``: an utterance matching ``ref`` comes before (after) this one, within N turns or S s."""

    direction: Literal["after", "before"]
    ref: Node
    within_turns: int | None = None
    within_s: float | None = None
    cost: int = 0

    def __post_init__(self) -> None:
        self.cost = self.ref.cost + 1

    def eval(self, ev: Evaluation, domain: int) -> int:
        refs = bits(ev.whole(self.ref))
        if not refs or not domain:
            return 0
        utts = ev.ctx.utts
        out = 0
        n, secs = self.within_turns, self.within_s
        for i in bits(domain):
            if self.direction == "after":  # references strictly before i, at most n turns back
                cands = refs[bisect_left(refs, i - n) if n else 0:bisect_left(refs, i)]
            else:
                k = bisect_right(refs, i)
                cands = refs[k:bisect_right(refs, i + n) if n else len(refs)]
            if cands and secs is not None:
                u = utts[i].utt
                if self.direction == "after":
                    ok = any(u.start - utts[j].utt.end <= secs for j in reversed(cands))
                else:
                    ok = any(utts[j].utt.start - u.end <= secs for j in cands)
            else:
                ok = bool(cands)
            if ok:
                out |= 1 << i
        return out


@dataclass(eq=False)
class Repeated(Node):
    """``of`` matched at least ``min`` times up to and including this utterance (within the last N turns)."""

    of: Node
    min: int
    within_turns: int | None = None
    cost: int = 0

    def __post_init__(self) -> None:
        self.cost = self.of.cost + 1

    def eval(self, ev: Evaluation, domain: int) -> int:
        hits = bits(ev.whole(self.of))
        if len(hits) < self.min:
            return 0
        out = 0
        for k, i in enumerate(hits):
            if not domain >> i & 1:
                continue
            lo = 0 if self.within_turns is None else bisect_left(hits, i - self.within_turns)
            if k + 1 - lo >= self.min:
                out |= 1 << i
        return out


@dataclass(eq=False)
class Silence(Node):
    """The utterance comes right after a silence (nobody speaking) of at least ``min_s`` inside the call."""

    min_s: float
    cost: int = 0

    def eval(self, ev: Evaluation, domain: int) -> int:
        mask = 0
        for s in ev.ctx.silences():
            if s.duration >= self.min_s:
                mask |= 1 << s.after
        return domain & mask


@dataclass(eq=False)
class TalkOver(Node):
    """The utterance (by ``by``) starts while the other party is speaking, overlapping it by ``min_s`` or more."""

    min_s: float
    by: str
    cost: int = 0

    def eval(self, ev: Evaluation, domain: int) -> int:
        utts = sorted(ev.ctx.utts, key=lambda p: (p.utt.start, p.index))
        other_end = float("-inf")
        mask = 0
        for p in utts:
            u = p.utt
            if p.role == self.by:
                if min(u.end, other_end) - u.start >= self.min_s and other_end > u.start:
                    mask |= 1 << p.index
            elif p.role in ("agent", "customer"):
                other_end = max(other_end, u.end)
        return domain & mask
