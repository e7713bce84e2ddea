"""Word/character error rate with one normaliser for references and hypotheses (benchmarks only)."""

from __future__ import annotations

import re

_NUMBER_WORDS = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
                 "six": "6", "seven": "7", "eight": "8", "nine": "9"}
_FILLERS = {"uh", "um", "hmm", "mm", "ah", "er", "eh", "oh"}


def normalise_en(text: str) -> list[str]:
    """Lower-case, no punctuation, digits one per token, number words as digits, no fillers."""
    text = text.lower().replace("-", " ")
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    text = re.sub(r"(\d)", r" \1 ", text)
    tokens = [_NUMBER_WORDS.get(t, t) for t in text.split()]
    return [t for t in tokens if t not in _FILLERS]


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(word edits, reference words): summed over calls they give the pooled WER."""
    ref, hyp = normalise_en(reference), normalise_en(hypothesis)
    return edit_distance(ref, hyp), len(ref)


def wer(reference: str, hypothesis: str) -> float:
    errors, n = word_errors(reference, hypothesis)
    return errors / max(1, n)


def cer_zh(reference: str, hypothesis: str) -> float:
    keep = re.compile(r"[\u4e00-\u9fff0-9a-zA-Z]")
    ref = [c for c in reference if keep.match(c)]
    hyp = [c for c in hypothesis if keep.match(c)]
    return edit_distance(ref, hyp) / max(1, len(ref))
