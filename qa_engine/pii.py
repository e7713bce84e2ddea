"""Mask customer phone, ID and bank-card numbers in every text the engine returns.

Numbers are found in digits (13812345678, ５５５), spoken Chinese numerals (一三八…, 幺 = 1)
and English digit words, with spaces, dashes or commas between groups.  A run of 11 or more
digits keeps its first 3 and last 4 digits and each digit in between becomes ``*``
(138****5678).  Masking keeps the text's length and script, so word timings and evidence
offsets still line up.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace

from .types import Evidence, Finding, Transcript, Utterance, Word

logger = logging.getLogger(__name__)

__all__ = ["mask_text", "mask_utterance", "mask_transcript", "mask_finding", "MIN_DIGITS"]

MIN_DIGITS = 11  # mobile numbers (11), ID numbers (15/18), bank cards (16-19)
KEEP_HEAD = 3
KEEP_TAIL = 4

_UNIT = (r"(?:[0-9０-９零〇○一二三四五六七八九幺]"
         r"|(?<![a-z])(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)(?![a-z]))")
_SEP = r"[\s\-‐–—_.,，、·/]{0,2}"
_RUN = re.compile(rf"{_UNIT}(?:{_SEP}{_UNIT}){{{MIN_DIGITS - 1},}}", re.IGNORECASE)
_UNIT_RE = re.compile(_UNIT, re.IGNORECASE)
_DIGITLIKE = re.compile(
    r"[0-9０-９零〇○一二三四五六七八九幺]|zero|one|two|three|four|five|six|seven|eight|nine", re.IGNORECASE
)
# cheap test first: two digit units next to each other somewhere in the text
_PAIR = re.compile(rf"{_UNIT}{_SEP}{_UNIT}", re.IGNORECASE)
# The same tests without re.IGNORECASE (several times faster), for two common kinds of text:
# * text with no Latin letter at all (most Chinese): only digit characters can be units.
#   (?i)[a-z] matches every character that any letter of the number words matches under
#   re.IGNORECASE (ASCII letters, ſ, K, İ, ı), so when it finds nothing, no word unit exists;
# * ASCII text: lower-casing keeps every position and re.IGNORECASE on ASCII is exactly
#   "compare lower-cased", so the lower-case patterns find the same units.
_LATIN = re.compile(r"[a-z]", re.IGNORECASE)
_D = r"[0-9０-９零〇○一二三四五六七八九幺]"
_PAIR_DIGITS = re.compile(rf"{_D}{_SEP}{_D}")
_DIGIT_CHAR = re.compile(_D)
_UNIT_LOWER = r"(?:[0-9]|(?<![a-z])(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)(?![a-z]))"
_PAIR_LOWER = re.compile(rf"{_UNIT_LOWER}{_SEP}{_UNIT_LOWER}")
_DIGITLIKE_LOWER = re.compile(r"[0-9]|zero|one|two|three|four|five|six|seven|eight|nine")


def _mask_run(m: re.Match[str]) -> str:
    run = m.group(0)
    digits = list(_UNIT_RE.finditer(run))
    if len(digits) < MIN_DIGITS:
        return run
    chars = list(run)
    for u in digits[KEEP_HEAD: len(digits) - KEEP_TAIL]:
        for i in range(u.start(), u.end()):
            chars[i] = "*"
    return "".join(chars)


def mask_text(text: str) -> str:
    """Mask every long number in ``text`` (length preserving)."""
    if len(text) < MIN_DIGITS:
        return text
    if not _LATIN.search(text):
        if not _PAIR_DIGITS.search(text) or len(_DIGIT_CHAR.findall(text)) < MIN_DIGITS:
            return text
    elif text.isascii():
        low = text.lower()
        if not _PAIR_LOWER.search(low) or len(_DIGITLIKE_LOWER.findall(low)) < MIN_DIGITS:
            return text
    elif not _PAIR.search(text) or len(_DIGITLIKE.findall(text)) < MIN_DIGITS:
        return text
    return _RUN.sub(_mask_run, text)


def mask_utterance(u: Utterance) -> Utterance:
    """Mask the utterance text and its words (numbers split across words included)."""
    text = mask_text(u.text)
    if not u.words:
        return u if text == u.text else replace(u, text=text)
    joined = "".join(w.word for w in u.words)
    masked = mask_text(joined)
    if masked == joined and text == u.text:
        return u
    words: list[Word] = []
    pos = 0
    for w in u.words:
        n = len(w.word)
        words.append(w if masked[pos:pos + n] == w.word else replace(w, word=masked[pos:pos + n]))
        pos += n
    return replace(u, text=text, words=tuple(words))


def mask_transcript(t: Transcript) -> Transcript:
    """A copy of the transcript whose utterance texts and words are masked."""
    return replace(t, utterances=tuple(mask_utterance(u) for u in t.utterances))


def _mask_value(v: object) -> object:
    if isinstance(v, str):
        return mask_text(v)
    if isinstance(v, dict):
        return {k: _mask_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return type(v)(_mask_value(x) for x in v)
    return v


def mask_finding(f: Finding) -> Finding:
    """Mask the evidence texts, the explanation and any strings in ``data``."""
    evidence = tuple(e if (t := mask_text(e.text)) == e.text else Evidence(e.start, e.end, t, e.similarity)
                     for e in f.evidence)  # Evidence is frozen: an unchanged one is kept as it is
    data = _mask_value(f.data)
    assert isinstance(data, dict)
    return replace(f, evidence=evidence, explanation=mask_text(f.explanation), data=data)
