"""Types of the C module qa_engine.native._evolve (see _evolve.c)."""

from collections.abc import Sequence
from typing import Any, TypeVar

T = TypeVar("T")

def evolve_each(cls: type[T], objs: Sequence[T], name: str, values: Sequence[Any], /) -> tuple[T, ...]: ...
