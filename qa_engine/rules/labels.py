"""Canonical ids of grades and call categories, whatever language the pack labels them in.

A Mandarin pack grades a call 不合格, an English pack ``fail``: both are the id ``fail``, so filters
(``?grade=fail``) and aggregates (calls per grade) count them together. The built-in labels below cover
the bundled packs; a pack with other labels maps them with its optional ``label_ids`` field
(``label_ids: {差: fail}``). A label that is neither built in nor mapped is its own id.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["CATEGORY_IDS", "GRADE_IDS", "canonical_category", "canonical_grade"]

GRADE_IDS: dict[str, str] = {
    "优秀": "excellent", "良好": "good", "合格": "pass", "及格": "pass", "不合格": "fail", "不及格": "fail",
    "excellent": "excellent", "good": "good", "pass": "pass", "fail": "fail",
}
CATEGORY_IDS: dict[str, str] = {
    "咨询": "inquiry", "投诉": "complaint", "建议": "suggestion", "售后": "after_sales",
    "inquiry": "inquiry", "complaint": "complaint", "suggestion": "suggestion", "after-sales": "after_sales",
    "after_sales": "after_sales",
}


def _canonical(label: str | None, known: Mapping[str, str], explicit: Mapping[str, str] | None) -> str | None:
    if label is None:
        return None
    if explicit and label in explicit:
        return explicit[label]
    return known.get(label, known.get(label.strip().lower(), label))


def canonical_grade(label: str | None, explicit: Mapping[str, str] | None = None) -> str | None:
    """The id of a grade label (优秀 -> excellent); ``explicit``: a pack's own ``label_ids``."""
    return _canonical(label, GRADE_IDS, explicit)


def canonical_category(label: str | None, explicit: Mapping[str, str] | None = None) -> str | None:
    """The id of a category label (售后 -> after_sales); ``explicit``: a pack's own ``label_ids``."""
    return _canonical(label, CATEGORY_IDS, explicit)

