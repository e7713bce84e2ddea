"""customer_repeat's English features and grouping in C (see qa_engine/native/_repeat.c and its checks.repeat)."""

from collections.abc import Callable
from typing import Any

def en_features(norm: str, stop_words: frozenset[str]) -> frozenset[str]: ...
def zh_features(norm: str, stop_chars: str, stop_bigrams: frozenset[str]) -> frozenset[str]: ...
def largest_group(customer: list[Any], features: Callable[..., frozenset[str]], feature_args: tuple[Any, ...],
                  min_features: int, min_shared: int, similarity: float,
                  enough: int) -> tuple[list[int], list[int]]: ...
