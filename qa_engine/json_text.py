"""Reading JSON text that came from outside (a request body, a transcript file, a batch sidecar or manifest line).

Why one reader: ``json.loads`` fails in three ways that are not ``JSONDecodeError`` (nesting deep enough to exhaust
the recursion limit, integers over Python's 4300-digit limit, and nesting that loads but that every later walk of
the document would recurse into), and each entry point that missed one answered with a traceback or a 500.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import QaEngineError

#: Deepest nesting of lists and objects accepted (a transcript needs 4, its acoustics 5).
MAX_JSON_DEPTH = 64


class JsonTextError(QaEngineError):
    """The text is not JSON this service reads; the message says why and where, without the value."""


def load_json(text: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The JSON value of ``text``; a leading UTF-8 byte-order mark is ignored (Windows editors write one).

    Raises:
        JsonTextError: malformed JSON (with line and column), an integer too long to read, nesting deeper than
            ``max_depth``.
    """
    try:
        doc = json.loads(text.removeprefix("\ufeff"))
    except json.JSONDecodeError as exc:
        raise JsonTextError(f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise JsonTextError(f"JSON nested deeper than {max_depth} levels") from None
    except ValueError as exc:  # int('9' * 5000): "Exceeds the limit (4300 digits) for integer string conversion"
        raise JsonTextError(f"a number in the JSON is too long ({str(exc).split(':')[0]})") from None
    if nesting_depth(doc, max_depth) > max_depth:
        raise JsonTextError(f"JSON nested deeper than {max_depth} levels")
    return doc


def nesting_depth(doc: Any, limit: int) -> int:
    """How deeply lists and objects nest in ``doc`` (a scalar: 0), counting no further than ``limit + 1``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


__all__ = ["MAX_JSON_DEPTH", "JsonTextError", "load_json", "nesting_depth"]
