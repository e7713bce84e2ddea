"""Required-literal prefilters for regular expressions.

Python's ``re`` tries every alternative at every position, so a pack's patterns cost
microseconds per utterance even when nothing matches.  For each pattern we derive a small
set of literal strings of which at least one must occur in any match (``not (my|our) job`` ->
{"not "}; ``(sorry|apologi[sz]e)`` -> {"sorry", "apologi"}); a plain ``in`` test on those
skips the regex for almost every utterance.
"""

from __future__ import annotations

import re
from re import _constants as sre_c  # type: ignore[attr-defined]  # Python 3.11+: re's own parser
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

__all__ = ["required_literals", "Prefiltered"]

Alts = tuple[str, ...]


def _best(cands: list[Alts]) -> Alts | None:
    if not cands:
        return None
    # most selective: the set whose shortest alternative is longest, then the fewest alternatives
    return max(cands, key=lambda a: (min(len(x) for x in a), -len(a)))


def _required(seq: Any) -> Alts | None:
    cands: list[Alts] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            cands.append(("".join(run),))
            run.clear()

    for op, av in seq:
        if op is sre_c.LITERAL:
            run.append(chr(av))
            continue
        flush()
        if op is sre_c.SUBPATTERN:
            sub = _required(av[-1])
            if sub:
                cands.append(sub)
        elif op is sre_c.BRANCH:
            alts: list[str] = []
            for branch in av[1]:
                sub = _required(branch)
                if not sub:
                    alts = []
                    break
                alts.extend(sub)
            if alts:
                cands.append(tuple(dict.fromkeys(alts)))
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, getattr(sre_c, "POSSESSIVE_REPEAT", None)):
            lo, _hi, sub_seq = av
            if lo >= 1:
                sub = _required(sub_seq)
                if sub:
                    cands.append(sub)
    flush()
    return _best(cands)


def required_literals(pattern: str) -> Alts | None:
    """Literal strings one of which every match contains, or None when none can be derived."""
    try:
        parsed = sre_parse.parse(pattern)
    except re.error:
        return None
    alts = _required(list(parsed))
    if not alts or any(not a for a in alts):
        return None
    return alts


class Prefiltered:
    """Several patterns, each guarded by its required literals.

    ``compile_fn`` compiles one pattern (the pack's patterns: on RE2); the literals are derived from the pattern
    as written (Python's parser only reads it, never matches with it). The gate is a plain alternation of
    escaped literals, which cannot backtrack.
    """

    def __init__(self, patterns: list[str], compile_fn: Any) -> None:
        self.parts: list[tuple[Alts | None, Any]] = []
        self.sources: list[str] = []
        for p in patterns:
            compiled = compile_fn(p)
            self.parts.append((required_literals(p), compiled))
            self.sources.append(p)
        # one search for "any required literal of any pattern": when it fails, no pattern can
        # match and the per-pattern tests are skipped (only when every pattern has literals)
        self.gate: re.Pattern[str] | None = None
        if self.parts and all(alts is not None for alts, _ in self.parts):
            lits = dict.fromkeys(a for alts, _ in self.parts for a in alts or ())
            self.gate = re.compile("|".join(re.escape(a) for a in sorted(lits, key=len)))

    def finditer(self, text: str) -> Any:
        if self.gate is not None and self.gate.search(text) is None:
            return
        for alts, pat in self.parts:
            if alts is not None:
                for a in alts:
                    if a in text:
                        break
                else:
                    continue
            yield from pat.finditer(text)

    @property
    def pattern(self) -> str:
        return "|".join(f"(?:{p})" for p in self.sources)
