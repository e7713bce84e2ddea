"""Diarization error rate (NIST md-eval style, frame based) and RTTM reading, for benchmarks and tests.

DER = (missed speech + false alarm + speaker confusion) / reference speech, after removing a
``collar`` (seconds) on each side of every reference boundary; hypothesis speakers are mapped to
reference speakers one-to-one so as to maximise their overlap (Hungarian assignment).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

Segment = tuple[float, float, Hashable]  # start, end, speaker label
FRAME_S = 0.01


@dataclass(frozen=True)
class DerResult:
    """Error components in seconds, and the rate."""

    total: float
    missed: float
    false_alarm: float
    confusion: float

    @property
    def der(self) -> float:
        return (self.missed + self.false_alarm + self.confusion) / self.total if self.total > 0 else 0.0


def read_rttm(path: str | Path) -> dict[str, list[Segment]]:
    """RTTM ``SPEAKER`` lines grouped by file id: (start, end, speaker)."""
    out: dict[str, list[Segment]] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        f = line.split()
        if len(f) >= 8 and f[0] == "SPEAKER":
            start, dur = float(f[3]), float(f[4])
            out.setdefault(f[1], []).append((start, start + dur, f[7]))
    return out


def _matrix(segments: Sequence[Segment], n_frames: int) -> tuple[np.ndarray, list[Hashable]]:
    labels = sorted({s[2] for s in segments}, key=str)
    m = np.zeros((n_frames, len(labels)), dtype=bool)
    for start, end, spk in segments:
        m[int(round(start / FRAME_S)):int(round(end / FRAME_S)), labels.index(spk)] = True
    return m, labels


def diarization_error(reference: Iterable[Segment], hypothesis: Iterable[Segment], collar: float = 0.25,
                      uem: tuple[float, float] | None = None) -> DerResult:
    """DER of ``hypothesis`` against ``reference`` (optionally scored inside ``uem`` only)."""
    from scipy.optimize import linear_sum_assignment

    ref, hyp = list(reference), list(hypothesis)
    end = max([s[1] for s in ref + hyp] + [uem[1] if uem else 0.0])
    n = int(np.ceil(end / FRAME_S)) + 1
    r, _ = _matrix(ref, n)
    h, _ = _matrix(hyp, n)
    scored = np.ones(n, dtype=bool)
    if uem is not None:
        scored[:int(round(uem[0] / FRAME_S))] = False
        scored[int(round(uem[1] / FRAME_S)):] = False
    c = int(round(collar / FRAME_S))
    for start, stop, _spk in ref:
        for t in (start, stop):
            f = int(round(t / FRAME_S))
            scored[max(0, f - c):f + c] = False
    r, h = r[scored], h[scored]
    n_ref, n_hyp = r.sum(axis=1), h.sum(axis=1)
    correct = 0.0
    if r.shape[1] and h.shape[1]:
        overlap = r.T.astype(np.int64) @ h.astype(np.int64)
        rows, cols = linear_sum_assignment(-overlap)
        mapped = np.zeros_like(r)
        for i, j in zip(rows, cols, strict=True):
            mapped[:, i] = r[:, i] & h[:, j]
        correct_frames = mapped.sum(axis=1)
    else:
        correct_frames = np.zeros(len(r))
    missed = np.maximum(0, n_ref - n_hyp).sum()
    false_alarm = np.maximum(0, n_hyp - n_ref).sum()
    confusion = (np.minimum(n_ref, n_hyp) - correct_frames).sum()
    correct = float(correct_frames.sum())
    del correct
    return DerResult(total=float(n_ref.sum()) * FRAME_S, missed=float(missed) * FRAME_S,
                     false_alarm=float(false_alarm) * FRAME_S, confusion=float(confusion) * FRAME_S)
