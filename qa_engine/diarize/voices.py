"""Is a two-cluster split really two voices, or one voice cut in half?

Why: the d-vectors of one voice split in two are nearly as far apart (cosine 0.77-0.90) as two
similar real voices (0.83-0.87 on same-gender phone calls), so a raw similarity threshold cannot
tell them apart. Two things can:

* **persistence**: two parties talk in turns of seconds, so a window and the one 1 s later
  usually sit on the same side of the split (correlation of the split coordinate ~0.5-0.75);
  a split single voice follows the phonetic content and flips within a breath (~-0.2-0.4).
* **separation**: the simplified silhouette (own centroid vs the other one, cosine, raw
  embeddings) is ~0.3 for a split voice and 0.3-0.7 for two voices.

``evidence = persistence + separation``. A voice that changes slowly over the call (handset moved,
line changed) also persists, but then the split follows time rather than turns: ``drift`` (the
share of the labels' variance explained by 10 s blocks of speech) catches it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cluster import centroids

LAG_S = 1.0  # far enough apart that the 0.8 s windows do not overlap, short against a turn
LAG_TOLERANCE_S = 0.13  # about half the default window step
DRIFT_BLOCK_WINDOWS = 40  # 10 s of speech at the default 0.25 s step
DRIFT_MAX_SEPARATION = 0.45  # voices this well separated are two voices even when they take long turns


@dataclass(frozen=True)
class VoiceCheck:
    """The numbers behind the one-speaker decision (also shown by the benchmark)."""

    persistence: float
    separation: float
    drift: float
    evidence: float
    one_voice: bool
    reason: str


def _l2(x: np.ndarray) -> np.ndarray:
    return x / (np.linalg.norm(x, axis=-1, keepdims=True) + 1e-12)


def persistence(emb: np.ndarray, labels: np.ndarray, times: np.ndarray, lag_s: float = LAG_S) -> float:
    """Correlation of the split coordinate between windows ``lag_s`` apart (``times``: window centres, s)."""
    cents = centroids(emb, labels, 2)
    order = np.argsort(times, kind="stable")
    coord = (emb @ (cents[1] - cents[0]))[order]
    coord = (coord - coord.mean()) / (coord.std() + 1e-12)
    times = times[order]
    lo = np.searchsorted(times, times + lag_s - LAG_TOLERANCE_S, side="left")
    hi = np.searchsorted(times, times + lag_s + LAG_TOLERANCE_S, side="right")
    counts = hi - lo
    if counts.sum() == 0:
        return 0.0
    first = np.repeat(np.arange(len(times)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    second = np.repeat(lo, counts) + offsets
    return float(np.mean(coord[first] * coord[second]))


def separation(raw: np.ndarray, labels: np.ndarray) -> float:
    """Simplified silhouette on cosine distance to the two centroids (linear in the number of windows)."""
    dist = 1.0 - _l2(raw) @ centroids(raw, labels, 2).T
    idx = np.arange(len(raw))
    own, other = dist[idx, labels], dist[idx, 1 - labels]
    return float(np.mean((other - own) / np.maximum(np.maximum(own, other), 1e-12)))


def drift(labels: np.ndarray, block: int = DRIFT_BLOCK_WINDOWS) -> float:
    """Share of the labels' variance explained by consecutive blocks of windows (0: none, 1: all)."""
    n_blocks = len(labels) // block
    share = float(labels.mean())
    if n_blocks < 2 or share in (0.0, 1.0):
        return 0.0
    blk = np.minimum(np.arange(len(labels)) * n_blocks // len(labels), n_blocks - 1)
    between = sum(np.sum(blk == b) * (labels[blk == b].mean() - share) ** 2 for b in range(n_blocks))
    return float(between / (len(labels) * share * (1 - share)))


def check_two_voices(raw: np.ndarray, emb: np.ndarray, labels: np.ndarray, times: np.ndarray,
                     min_evidence: float, max_drift: float) -> VoiceCheck:
    """Decide whether windows labelled 0/1 come from two voices (``emb``: the centred embeddings)."""
    pers, sep, dft = persistence(emb, labels, times), separation(raw, labels), drift(labels)
    evidence = pers + sep
    if evidence < min_evidence:
        return VoiceCheck(pers, sep, dft, evidence, True,
                          f"the two halves found do not take turns like two parties: two-voice evidence "
                          f"{evidence:.2f} < {min_evidence:.2f}")
    if dft > max_drift and sep < DRIFT_MAX_SEPARATION:
        return VoiceCheck(pers, sep, dft, evidence, True,
                          f"the two halves found follow time, not turns: one voice changing over the call "
                          f"(drift {dft:.2f} > {max_drift:.2f})")
    return VoiceCheck(pers, sep, dft, evidence, False, "two voices taking turns")
