"""qa_engine/native/_pii.c: the PII masker's pass over a call's strings (the reference: qa_engine.pii._python_scan)."""

from collections.abc import Sequence

def scan(strings: Sequence[str | None], /
         ) -> tuple[set[int], dict[int, list[tuple[int, int]]], list[int], list[int]] | None: ...
