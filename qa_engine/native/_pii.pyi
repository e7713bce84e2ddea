"""qa_engine/native/_pii.c: the PII masker's passes over a call's strings (the references: qa_engine.pii._python_scan,
qa_engine.pii._python_keep_runs, _python_apply and _python_whole_spans)."""

from collections.abc import Sequence
from typing import TypeVar

_Match = TypeVar("_Match", bound=tuple[object, ...])
_Span = TypeVar("_Span")

def scan(strings: Sequence[str | None], /
         ) -> tuple[set[int], dict[int, list[tuple[int, int]]], list[int], list[int]] | None: ...
def long_runs(text: str, runs: Sequence[tuple[int, int]], match_type: type[_Match], /) -> list[_Match] | None: ...
def mask(text: str, ranges: Sequence[tuple[int, int]], email: bool, /) -> str: ...
def whole_spans(span_type: type[_Span], utts: Sequence[object],
                items: Sequence[tuple[int, Sequence[tuple[object, ...]]]], /) -> list[_Span]: ...
