"""Diarization results and options shared by the built-in and pyannote backends."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import QaEngineError


class DiarizationError(QaEngineError):
    """The speakers of a mono call cannot be separated (e.g. only one voice is heard)."""


class OneSpeakerError(DiarizationError):
    """Only one voice is heard where two speakers were asked for; ``evidence``: the two-voice evidence, if measured."""

    def __init__(self, message: str, evidence: float | None = None) -> None:
        super().__init__(message)
        self.evidence = evidence


@dataclass(frozen=True)
class SpeakerTurn:
    """A stretch of time in which one speaker (0-based index in order of first appearance) talks."""

    start: float
    end: float
    speaker: int

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass(frozen=True)
class Diarization:
    """Who spoke when; ``similarity`` is the cosine similarity of the two closest speakers' voices,
    ``voice_evidence`` the built-in two-voice evidence (see ``voices.py``) when two speakers were checked."""

    turns: tuple[SpeakerTurn, ...]
    speakers: int
    backend: str
    similarity: float | None = None
    voice_evidence: float | None = None

    def speech_s(self, speaker: int) -> float:
        return sum(t.duration for t in self.turns if t.speaker == speaker)


@dataclass(frozen=True)
class DiarizationOptions:
    """How to split a mono call into speakers.

    ``speakers``: the number of speakers (2 for a call); None estimates it (``max_speakers`` at most)
    from ``merge_threshold``. ``min_speaker_share``/``max_similarity`` and, for two speakers,
    ``min_voice_evidence``/``max_time_drift`` (``voices.py``; None turns that check off) decide when a
    file really holds one voice only (an error rather than a made-up second speaker).
    """

    speakers: int | None = 2
    max_speakers: int = 8
    step_s: float = 0.25
    segment_windows: int = 4
    merge_threshold: float = 0.5
    switch_penalty: float = 0.35
    pause_switch_penalty: float = 0.05
    min_speaker_share: float = 0.04
    max_similarity: float = 0.9
    min_voice_evidence: float | None = 0.8
    max_time_drift: float = 0.35
    threads: int = 1
    center: bool = True


def relabel_by_first_appearance(turns: list[SpeakerTurn]) -> tuple[SpeakerTurn, ...]:
    """Speaker 0 is whoever speaks first, speaker 1 the next one, and so on (stable labels)."""
    order: dict[int, int] = {}
    out = []
    for t in sorted(turns, key=lambda t: (t.start, t.end)):
        order.setdefault(t.speaker, len(order))
        out.append(SpeakerTurn(t.start, t.end, order[t.speaker]))
    return tuple(out)
