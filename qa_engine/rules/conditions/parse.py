"""Validate a rule's ``when:`` tree (user input: packs are uploaded) and build its :mod:`.nodes`.

Every error is a :class:`ConditionError` naming the path in the tree (``when.all[1].regex: ...``), and the tree
is bounded: depth, node count, list sizes and every number, so an upload cannot make evaluation expensive.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any as AnyType

from pydantic import ValidationError

from ..matching import Matcher
from ..safe_regex import PatternError
from ..schema import MatchSpec
from . import nodes as n

__all__ = ["LIMITS", "ConditionError", "OPERATORS", "build"]

#: bounds on a tree (the depth counts composition levels: all/any/not/at_least/after/before/repeated)
LIMITS: dict[str, int] = {"depth": 8, "nodes": 200, "children": 50, "phrases": 200, "pattern_chars": 500,
                          "turns": 10_000, "seconds": 86_400, "repeat": 1_000}

#: every operator, and whether the live checker can decide it while the call goes on (see nodes.Node.incremental)
OPERATORS = {"all": "composition", "any": "composition", "not": "composition", "at_least": "composition",
             "phrase": "incremental", "regex": "incremental", "role": "incremental",
             "position": "incremental for first_turns / first_s", "after": "not incremental",
             "before": "not incremental", "repeated": "not incremental", "silence": "not incremental",
             "talk_over": "not incremental"}

MatcherFactory = Callable[[MatchSpec], Matcher]


class ConditionError(ValueError):
    """A ``when:`` tree that cannot be used; the message starts with the path of the offending node."""


class _Builder:
    def __init__(self, matcher: MatcherFactory, defines: dict[str, n.Node]) -> None:
        self.matcher = matcher
        self.defines = defines
        self.count = 0

    def node(self, raw: object, path: str, depth: int) -> n.Node:
        self.count += 1
        if self.count > LIMITS["nodes"]:
            raise ConditionError(f"{path}: the condition has more than {LIMITS['nodes']} nodes; split the rule")
        if depth > LIMITS["depth"]:
            raise ConditionError(f"{path}: nested deeper than {LIMITS['depth']} levels")
        if not isinstance(raw, dict) or not raw:
            raise ConditionError(f"{path}: expected a mapping with one operator "
                                 f"({', '.join(OPERATORS)})")
        keys = set(raw)
        for op in ("all", "any", "not", "at_least", "after", "before", "repeated", "role", "position", "silence",
                   "talk_over"):
            if op in keys:
                self._only(raw, {op}, path)
                return getattr(self, f"_{op}")(raw[op], f"{path}.{op}", depth)
        if "phrase" in keys:
            self._only(raw, {"phrase", "threshold", "negate"}, path)
            return self._phrase(raw, path)
        if "regex" in keys:
            self._only(raw, {"regex", "unless"}, path)
            return self._regex(raw, path)
        unknown = ", ".join(sorted(map(str, keys)))
        raise ConditionError(f"{path}: unknown operator {unknown!r} (known: {', '.join(OPERATORS)})")

    @staticmethod
    def _only(raw: dict[AnyType, AnyType], allowed: set[str], path: str) -> None:
        extra = sorted(str(k) for k in set(raw) - allowed)
        if extra:
            raise ConditionError(f"{path}: unexpected field(s) {', '.join(extra)} next to "
                                 f"{'/'.join(sorted(allowed))} (one operator per mapping: wrap them in 'all')")

    def _list(self, raw: object, path: str, depth: int) -> list[n.Node]:
        if not isinstance(raw, list) or not raw:
            raise ConditionError(f"{path}: expected a non-empty list of conditions")
        if len(raw) > LIMITS["children"]:
            raise ConditionError(f"{path}: more than {LIMITS['children']} conditions in one list")
        return [self.node(x, f"{path}[{i}]", depth + 1) for i, x in enumerate(raw)]

    def _all(self, raw: object, path: str, depth: int) -> n.Node:
        return n.All(self._list(raw, path, depth))

    def _any(self, raw: object, path: str, depth: int) -> n.Node:
        return n.Any(self._list(raw, path, depth))

    def _not(self, raw: object, path: str, depth: int) -> n.Node:
        return n.Not(self.node(raw, path, depth + 1))

    def _at_least(self, raw: object, path: str, depth: int) -> n.Node:
        spec = _mapping(raw, path, {"n", "of"})
        of = self._list(spec.get("of"), f"{path}.of", depth)
        count = _int(spec.get("n"), f"{path}.n", 1, len(of))
        return n.AtLeast(count, of)

    def _anchor(self, raw: object, path: str, depth: int, direction: str) -> n.Node:
        spec = _mapping(raw, path, {"ref", "within_turns", "within_s"})
        if "ref" not in spec:
            raise ConditionError(f"{path}.ref: required (a condition, or the name of one under 'define')")
        ref = spec["ref"]
        if isinstance(ref, str):
            if ref not in self.defines:
                known = ", ".join(sorted(self.defines)) or "none"
                raise ConditionError(f"{path}.ref: {ref!r} is not defined under 'define' (defined: {known})")
            node = self.defines[ref]
        else:
            node = self.node(ref, f"{path}.ref", depth + 1)
        turns = _int(spec["within_turns"], f"{path}.within_turns", 1, LIMITS["turns"]) \
            if "within_turns" in spec else None
        secs = _seconds(spec["within_s"], f"{path}.within_s") if "within_s" in spec else None
        return n.Anchor(direction, node, turns, secs)  # type: ignore[arg-type]

    def _after(self, raw: object, path: str, depth: int) -> n.Node:
        return self._anchor(raw, path, depth, "after")

    def _before(self, raw: object, path: str, depth: int) -> n.Node:
        return self._anchor(raw, path, depth, "before")

    def _repeated(self, raw: object, path: str, depth: int) -> n.Node:
        spec = _mapping(raw, path, {"min", "of", "within_turns"})
        if "of" not in spec:
            raise ConditionError(f"{path}.of: required (the condition that repeats)")
        of = self.node(spec["of"], f"{path}.of", depth + 1)
        least = _int(spec.get("min"), f"{path}.min", 2, LIMITS["repeat"])
        turns = _int(spec["within_turns"], f"{path}.within_turns", 1, LIMITS["turns"]) \
            if "within_turns" in spec else None
        return n.Repeated(of, least, turns)

    def _role(self, raw: object, path: str, depth: int) -> n.Node:
        if raw not in ("agent", "customer"):
            raise ConditionError(f"{path}: expected agent or customer, got {raw!r}")
        return n.Role(str(raw))

    def _position(self, raw: object, path: str, depth: int) -> n.Node:
        kinds = {"first_turns", "last_turns", "first_s", "last_s"}
        spec = _mapping(raw, path, kinds)
        if len(spec) != 1:
            raise ConditionError(f"{path}: give exactly one of {', '.join(sorted(kinds))}")
        ((kind, value),) = spec.items()
        if kind.endswith("_turns"):
            return n.Position(kind, _int(value, f"{path}.{kind}", 1, LIMITS["turns"]))  # type: ignore[arg-type]
        return n.Position(kind, _seconds(value, f"{path}.{kind}"))  # type: ignore[arg-type]

    def _silence(self, raw: object, path: str, depth: int) -> n.Node:
        spec = _mapping(raw, path, {"min_s"})
        return n.Silence(_seconds(spec.get("min_s"), f"{path}.min_s"))

    def _talk_over(self, raw: object, path: str, depth: int) -> n.Node:
        spec = _mapping(raw, path, {"min_s", "by"})
        by = spec.get("by", "agent")
        if by not in ("agent", "customer"):
            raise ConditionError(f"{path}.by: expected agent or customer, got {by!r}")
        return n.TalkOver(_seconds(spec.get("min_s", 0.5), f"{path}.min_s", allow_zero=True), str(by))

    def _phrase(self, raw: dict[AnyType, AnyType], path: str) -> n.Node:
        value = raw["phrase"]
        phrases = [value] if isinstance(value, str) else value
        if not isinstance(phrases, list) or not phrases or not all(isinstance(x, str) and x.strip()
                                                                    for x in phrases):
            raise ConditionError(f"{path}.phrase: expected a phrase or a non-empty list of phrases")
        if len(phrases) > LIMITS["phrases"]:
            raise ConditionError(f"{path}.phrase: more than {LIMITS['phrases']} phrases")
        threshold = raw.get("threshold")
        if threshold is not None:
            threshold = _int(threshold, f"{path}.threshold", 50, 100)
        negate = raw.get("negate", False)
        if not isinstance(negate, bool):
            raise ConditionError(f"{path}.negate: expected true or false")
        try:
            spec = MatchSpec(phrases=phrases, threshold=threshold, negate=negate)
        except ValidationError as exc:
            raise ConditionError(f"{path}.phrase: {exc.errors()[0]['msg'].removeprefix('Value error, ')}") from None
        return n.Phrase(self.matcher(spec))

    def _regex(self, raw: dict[AnyType, AnyType], path: str) -> n.Node:
        main = self._pattern(raw["regex"], f"{path}.regex")
        unless = self._pattern(raw["unless"], f"{path}.unless") if "unless" in raw else None
        return n.Regex(main, unless)

    def _pattern(self, value: object, path: str) -> Matcher:
        if not isinstance(value, str) or not value:
            raise ConditionError(f"{path}: expected a regular expression (a string)")
        if len(value) > LIMITS["pattern_chars"]:
            raise ConditionError(f"{path}: longer than {LIMITS['pattern_chars']} characters")
        try:
            return self.matcher(MatchSpec(patterns=[value]))
        except (PatternError, ValueError) as exc:
            msg = str(exc).split("\n")[0]
            raise ConditionError(f"{path}: invalid RE2 ({msg})") from None


def _mapping(raw: object, path: str, allowed: set[str]) -> dict[str, AnyType]:
    if not isinstance(raw, dict):
        raise ConditionError(f"{path}: expected a mapping with {', '.join(sorted(allowed))}")
    extra = sorted(str(k) for k in set(raw) - allowed)
    if extra:
        raise ConditionError(f"{path}: unknown field(s) {', '.join(extra)} (known: {', '.join(sorted(allowed))})")
    return raw


def _int(value: object, path: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConditionError(f"{path}: expected a whole number between {lo} and {hi}, got {value!r}")
    if not lo <= value <= hi:
        raise ConditionError(f"{path}: must be between {lo} and {hi}, got {value}")
    return value


def _seconds(value: object, path: str, *, allow_zero: bool = False) -> float:
    hi = LIMITS["seconds"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConditionError(f"{path}: expected a number of seconds, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero) or value > hi:
        raise ConditionError(f"{path}: must be {'≥' if allow_zero else '>'} 0 and ≤ {hi:g} s, got {value}")
    return float(value)


def build(when: object, defines: dict[str, object], matcher: MatcherFactory) -> tuple[n.Node, dict[str, n.Node]]:
    """The root node of ``when`` and the named conditions of ``define`` (each may use the names before it)."""
    named: dict[str, n.Node] = {}
    builder = _Builder(matcher, named)
    if len(defines) > LIMITS["children"]:
        raise ConditionError(f"define: more than {LIMITS['children']} names")
    for name, raw in defines.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ConditionError(f"define: {name!r} is not a name (letters, digits, _)")
        named[name] = builder.node(raw, f"define.{name}", 1)
    return builder.node(when, "when", 1), named
