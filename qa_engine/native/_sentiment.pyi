"""Types of the C module qa_engine.native._sentiment (see _sentiment.c)."""

from collections.abc import Collection, Iterable, Sequence
from typing import Any

class Scorer:
    """One language's sentiment lexicon and rules, scanned in C (immutable once built)."""

    def __init__(self, family: str, lexicon: dict[str, float], unnegated: Collection[str], negators: Iterable[str],
                 intensifiers: Iterable[str], dampeners: Iterable[str], back: int, fold_case: bool,
                 openers: dict[int, int], alpha: float, negation: float, intensifier: float,
                 dampener: float) -> None: ...
    def scores(self, texts: Sequence[str], /) -> list[float]: ...

def summary(utterances: Sequence[Any], parties: tuple[str, ...], edge_turns: int, /) -> dict[str, Any] | None: ...
def round3(y: float, /) -> float: ...
