"""Word-level speaker assignment: split ASR utterances where the speaker changes.

Each word goes to the speaker whose turns cover most of it. A word that no turn covers well
(Whisper's word times are off by a few hundred ms at turn edges) stays with the word before
it, unless a turn of another speaker covers at least half of it: that is how a short
backchannel (嗯, "yeah") inside the other party's turn keeps its own speaker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..types import Utterance, Word
from .types import SpeakerTurn

SPEAKER_PREFIX = "spk"


def speaker_label(index: int) -> str:
    return f"{SPEAKER_PREFIX}{index}"


def _coverage(word: Word, turns: Sequence[SpeakerTurn]) -> dict[int, float]:
    out: dict[int, float] = {}
    for t in turns:
        ov = min(word.end, t.end) - max(word.start, t.start)
        if ov > 0:
            out[t.speaker] = out.get(t.speaker, 0.0) + ov
    return out


def _nearest(word: Word, turns: Sequence[SpeakerTurn]) -> int:
    mid = (word.start + word.end) / 2
    return min(turns, key=lambda t: max(t.start - mid, mid - t.end, 0.0)).speaker


def word_speakers(words: Sequence[Word], turns: Sequence[SpeakerTurn], own_share: float = 0.5) -> list[int]:
    """The speaker of each word (see the module docstring for the boundary rule)."""
    out: list[int] = []
    for w in words:
        cover = _coverage(w, turns)
        length = max(w.end - w.start, 1e-3)
        if not cover:
            out.append(out[-1] if out else _nearest(w, turns))
            continue
        best = max(cover, key=lambda s: cover[s])
        if out and best != out[-1] and cover[best] / length < own_share:
            best = out[-1]  # weakly covered boundary word: keep the running speaker
        out.append(best)
    return out


def split_by_speaker(utterances: Sequence[Utterance], turns: Sequence[SpeakerTurn],
                     join: str = " ") -> list[Utterance]:
    """One utterance per run of words by one speaker (``speaker`` set, role still ``unknown``)."""
    if not turns:
        return list(utterances)
    out: list[Utterance] = []
    for u in utterances:
        if not u.words:
            mid = Word((u.start + u.end) / 2, (u.start + u.end) / 2, "")
            out.append(replace(u, speaker=speaker_label(_nearest(mid, turns))))
            continue
        speakers = word_speakers(u.words, turns)
        run: list[Word] = []
        for i, (w, s) in enumerate(zip(u.words, speakers, strict=True)):
            run.append(w)
            if i == len(u.words) - 1 or speakers[i + 1] != s:
                text = "".join(x.word for x in run).strip()
                if join == "":
                    text = text.replace(" ", "")
                out.append(replace(u, start=run[0].start, end=run[-1].end, text=text, words=tuple(run),
                                   speaker=speaker_label(s)))
                run = []
    out.sort(key=lambda x: (x.start, x.end))
    return out
