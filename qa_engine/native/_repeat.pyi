"""customer_repeat's English features and grouping in C (see qa_engine/native/_repeat.c and its checks.repeat)."""

from collections.abc import Callable
from typing import Any

def en_features(norm: str, stop_words: frozenset[str]) -> frozenset[str]: ...
def largest_group(customer: list[Any], features: Callable[[str], frozenset[str]], min_features: int, min_shared: int,
                  similarity: float, enough: int) -> tuple[list[int], list[int]]: ...
