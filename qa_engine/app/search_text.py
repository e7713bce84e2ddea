"""The form in which search matches text: lower-cased, one space for any run of white space, and a mark before
every word of a space-separated script.

Search looks for the query's form inside the utterance's form as a plain substring (FTS5 trigram phrase or escaped
``LIKE``), so English ``hi`` (``\\x1fhi``) finds ``Hi, thanks`` and ``"hi"`` but not ``while``, while Chinese, which
gets no marks (no spaces between its words), still matches anywhere: ``稍等`` finds ``请稍等一下``. A query word may
end inside a word (``refund`` finds ``refunds``). Both databases run the same substring test on the same stored
form, so they agree by construction; no regular expression ever sees user input.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

#: Put before each word: a control character, so never in a query (refused) nor in a form (made a space)
WORD_START = "\x1f"
_SPACES = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")
#: Scripts written without spaces between words (Chinese, Japanese, Thai…): matched as substrings, no marks
_UNSPACED = ((0x0E00, 0x0FFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x2E80, 0x2FDF), (0x3000, 0x9FFF),
             (0xA000, 0xA4CF), (0xF900, 0xFAFF), (0xFE30, 0xFE4F), (0xFF66, 0xFF9F), (0x20000, 0x3FFFF))


def match_form(text: str) -> str:
    """``text`` as search matches it (see the module's docstring); the same function for stored text and query."""
    out: list[str] = []
    in_word = False
    for char in _SPACES.sub(" ", text).lower():
        word_char = is_word_char(char)
        if word_char and not in_word:
            out.append(WORD_START)
        out.append(char)
        in_word = word_char
    return "".join(out)


@lru_cache(maxsize=4096)
def is_word_char(char: str) -> bool:
    """A letter, digit or mark of a script that separates its words with spaces (Latin, Cyrillic, Hangul…)."""
    code = ord(char)
    if any(low <= code <= high for low, high in _UNSPACED):
        return False
    return unicodedata.category(char)[0] in "LNM"
