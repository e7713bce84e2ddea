"""qa_engine/native/_edges.c: the edges of a text transcript's speech and the redactions' loop over the spans (the
references: scoring._python_edge_times and scoring._python_redaction_list)."""

from collections.abc import Sequence

from qa_engine.pii import PiiSpan
from qa_engine.types import Redaction, Utterance

def mono_channels(utts: Sequence[Utterance], /) -> bool: ...
def speech_edges(utts: Sequence[Utterance], channel: int | None, mono: bool, held: set[int], /
                 ) -> tuple[list[float], list[float]] | None: ...
def redaction_list(spans: Sequence[PiiSpan], span_type: type[PiiSpan], utts: Sequence[Utterance], mono: bool,
                   edges: dict[int | None, tuple[list[float], list[float]]], duration: float,
                   redaction_type: type[Redaction], /) -> tuple[Redaction, ...] | None: ...
