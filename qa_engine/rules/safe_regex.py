"""User-written patterns run on RE2, a linear-time regular-expression engine (``google-re2``).

Pack patterns come from outside (admins upload packs through the API), and Python's ``re`` backtracks: a
pattern such as ``(a+)+$`` on thirty ``a``\\ s takes minutes and holds the interpreter lock meanwhile, so
every request of the service waits. RE2 matches in time linear in the text whatever the pattern, and
refuses what it cannot do in linear time (backreferences ``\\1``, lookahead ``(?=...)``/``(?!...)``,
lookbehind ``(?<=...)``/``(?<!...)``, possessive or atomic groups): such a pattern is refused when the pack is
validated, with a hint (an ``allow_patterns`` entry usually expresses what a negative lookaround meant).

Patterns keep Python's meaning where RE2's differs by default: ``\\d`` is any Unicode decimal digit and
``\\w`` any Unicode letter, digit or underscore (RE2: ASCII only), ``\\Z`` is the end of the text.
``\\b``/``\\B`` and ``\\s``/``\\S`` follow RE2 (ASCII word characters and ASCII whitespace); the text
patterns see is normalised first (full-width folded, punctuation removed), so this rarely matters.
Text is matched as UTF-8, so the private-use characters of the Chinese sound codes are ordinary characters.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import re2
from re2 import _re2  # the binding under re2's Python wrapper

__all__ = ["MAX_PROGRAM_MEMORY", "RE2_UNANCHORED", "PatternError", "compile_user_pattern", "match_spans",
           "to_re2_syntax"]

#: Memory RE2 may use to compile one pattern (its default is 8 MiB); a bigger pattern is refused.
MAX_PROGRAM_MEMORY = 8 << 20

#: Python class escapes -> RE2 Unicode classes, outside and inside ``[...]``.
_OUTSIDE = {"d": r"\p{Nd}", "D": r"\P{Nd}", "w": r"[\p{L}\p{N}_]", "W": r"[^\p{L}\p{N}_]", "Z": r"\z"}
_INSIDE = {"d": r"\p{Nd}", "D": r"\P{Nd}", "w": r"\p{L}\p{N}_"}

_HINTS = (
    ("(?<", "lookbehind is not supported: match the text without it and list the exceptions in 'allow_patterns'"),
    ("(?=", "lookahead is not supported: match the text without it and list the exceptions in 'allow_patterns'"),
    ("(?!", "negative lookahead is not supported: list the exceptions in 'allow_patterns' instead"),
    ("(?>", "atomic groups are not supported: write the group plainly (matching is linear-time anyway)"),
    ("invalid escape sequence: \\1", "backreferences (\\1, (?P=name)) are not supported"),
    ("invalid escape", "backreferences and some escapes are not supported"),
    ("bad repetition operator: ++", "possessive quantifiers (++, *+, ?+) are not supported: write + * ?"),
    ("bad repetition operator: *+", "possessive quantifiers (++, *+, ?+) are not supported: write + * ?"),
    ("bad repetition operator: ?+", "possessive quantifiers (++, *+, ?+) are not supported: write + * ?"),
    ("pattern too large", "the pattern is too large for the linear-time engine: split it into several patterns"),
)


class PatternError(ValueError):
    """A pattern RE2 cannot run; the message quotes the pattern, says why and how to rewrite it."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # the error is raised with the pattern; nothing goes to stderr
    options.max_mem = MAX_PROGRAM_MEMORY
    return options


_OPTIONS = _options()


def to_re2_syntax(pattern: str) -> str:
    """``pattern`` with Python's Unicode class escapes rewritten for RE2 (see the module docstring)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    class_start = -1
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            table = _INSIDE if in_class else _OUTSIDE
            out.append(table.get(nxt, ch + nxt))
            i += 2
            continue
        if in_class:
            # a ']' right after '[' or '[^' is a literal, not the end of the class
            if ch == "]" and i > class_start:
                in_class = False
        elif ch == "[":
            in_class = True
            class_start = i + 1
            if i + 1 < n and pattern[i + 1] == "^":
                class_start = i + 2
            out.append(pattern[i:class_start])
            i = class_start
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def compile_user_pattern(pattern: str) -> Any:
    """Compile a pack pattern on RE2 (Python's class-escape meanings kept).

    Raises:
        PatternError: RE2 cannot express it (backreference, lookaround, ...) or it is malformed.
    """
    try:
        return re2.compile(to_re2_syntax(pattern), _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        reason = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        hint = next((h for key, h in _HINTS if key in reason or key in pattern), None)
        if hint is None and ("(?P=" in pattern or any(f"\\{d}" in pattern for d in "123456789")):
            hint = "backreferences (\\1, (?P=name)) are not supported"
        detail = f"{reason}; {hint}" if hint else reason
        raise PatternError(f"pattern {pattern!r} is not a regular expression the linear-time engine (RE2) can "
                           f"run: {detail}") from None


_UNANCHORED = re2._Anchor.UNANCHORED
#: what the native find passes re2 to search unanchored, as :func:`match_spans` does (qa_engine/native/_match.c)
RE2_UNANCHORED = _UNANCHORED
_NO_MATCH = (-1, -1)


def match_spans(compiled: Any, text: str) -> Iterator[tuple[int, int]]:
    """``(m.start(), m.end())`` of each match of ``compiled.finditer(text)``, without building match objects.

    Why: re2's wrapper decodes every group's offsets in Python and builds a match object per match, several
    microseconds each; the rules ask a few dozen times per call and need only the span.  Same matches, in
    the same order (an empty match moves on by one character, as the wrapper does).
    """
    data = text.encode("utf-8")
    same = len(data) == len(text)  # ASCII: byte offsets are character offsets
    match = compiled._regexp.Match
    to_chars = _re2.BytesToCharLen  # (data, start, end): characters in data[start:end]
    pos, end = 0, len(data)
    last_byte = last_char = 0  # matches only move forward: offsets are converted from the previous one
    while True:
        a, b = match(_UNANCHORED, data, pos, end)[0]
        if (a, b) == _NO_MATCH:
            return
        if same:
            yield a, b
        else:
            start = last_char + to_chars(data, last_byte, a)
            last_byte, last_char = b, start + to_chars(data, a, b)
            yield start, last_char
        if pos == end:
            return
        pos = pos + _re2.CharLenToBytes(data, pos, 1) if pos == b else b
