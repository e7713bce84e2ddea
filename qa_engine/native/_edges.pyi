"""qa_engine/native/_edges.c: the edges of a text transcript's speech (the reference: scoring._python_edge_times)."""

from collections.abc import Sequence

from qa_engine.types import Utterance

def mono_channels(utts: Sequence[Utterance], /) -> bool: ...
def speech_edges(utts: Sequence[Utterance], channel: int | None, mono: bool, held: set[int], /
                 ) -> tuple[list[float], list[float]] | None: ...
