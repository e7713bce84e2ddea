"""Composable conditions for pack authors (``type: condition``): a tree of operators over utterances."""

from .nodes import Evaluation, Node, bits
from .parse import LIMITS, OPERATORS, ConditionError, build

__all__ = ["LIMITS", "OPERATORS", "ConditionError", "Evaluation", "Node", "bits", "build"]
