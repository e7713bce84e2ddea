"""Native (C) versions of the per-utterance hot paths, each beside the pure-Python reference it must equal.

Why: the rules engine's throughput target (1,000 five-minute calls/s on one core) is out of the interpreter's reach:
the work left is object and call overhead spread over many passes per utterance. A module here does one such pass in
C. Each is optional: :func:`load` returns None when it was not built (no compiler) or when ``QA_ENGINE_NATIVE=0``
(to run and test the reference), and the caller keeps the Python path. Tests compare both on the same inputs.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

__all__ = ["enabled", "load"]


def enabled() -> bool:
    """Whether native modules may be used (``QA_ENGINE_NATIVE=0`` turns them all off)."""
    return os.environ.get("QA_ENGINE_NATIVE", "1") != "0"


def load(name: str) -> ModuleType | None:
    """The built module ``qa_engine.native.<name>`` (e.g. ``"_pii"``), or None: not built, or turned off."""
    if not enabled():
        return None
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ImportError:
        return None
