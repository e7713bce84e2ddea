"""Looking for a phone number's digits in what the service serves (the PII tests' leak check).

A served document also holds times and temporary paths whose digits may spell four digits of the number by chance
(…T10:23:45.6Z holds 3456 with separators, pytest-1234 holds 1234): those are left out before the search.
"""

from __future__ import annotations

import re

PHONE = "13812345678"
#: what a served document holds beside the texts: ISO times and pytest's numbered temporary folders
NOT_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?|pytest-\d+")


def leak_pattern(phone: str = PHONE, *more: str) -> re.Pattern[str]:
    """Any 4 digits of ``phone`` in a row, whatever (up to 3 non-alphanumerics) stands between them, or a ``more``."""
    parts = ["[^0-9A-Za-z]{0,3}".join(phone[i:i + 4]) for i in range(len(phone) - 3)]
    return re.compile("|".join(parts + list(more)))


def leaks_in(pattern: re.Pattern[str], text: str) -> list[str]:
    """What ``pattern`` finds in ``text`` once its times and temporary paths are left out."""
    return pattern.findall(NOT_TEXT.sub("_", text))
