"""Overtalk from utterance times in C (see qa_engine/native/_overtalk.c and qa_engine.acoustics)."""

from collections.abc import Sequence
from typing import Any

def overtalk(utterances: Sequence[Any], span_cls: Any, join_gap: float, least: float) -> list[Any] | None: ...
