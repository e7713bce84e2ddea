"""Clustering of speaker embeddings and frame-level smoothing (numpy + scipy only)."""

from __future__ import annotations

import numpy as np


def _l2(x: np.ndarray) -> np.ndarray:
    return x / (np.linalg.norm(x, axis=-1, keepdims=True) + 1e-12)


def agglomerative(embeddings: np.ndarray, n_clusters: int | None, threshold: float,
                  max_clusters: int = 8) -> np.ndarray:
    """Average-linkage clustering on cosine distance; a fixed count, or cut at ``threshold``."""
    from scipy.cluster.hierarchy import fcluster, linkage

    n = len(embeddings)
    if n == 0:
        return np.zeros(0, dtype=int)
    if n == 1:
        return np.zeros(1, dtype=int)
    tree = linkage(_l2(embeddings), method="average", metric="cosine")
    if n_clusters is not None:
        labels = fcluster(tree, t=min(n_clusters, n), criterion="maxclust")
    else:
        labels = fcluster(tree, t=threshold, criterion="distance")
        if labels.max() > max_clusters:
            labels = fcluster(tree, t=max_clusters, criterion="maxclust")
    _, dense = np.unique(labels, return_inverse=True)
    return np.asarray(dense, dtype=int)


def centroids(embeddings: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """L2-normalised mean embedding of each cluster (k, dim)."""
    return _l2(np.stack([embeddings[labels == c].mean(axis=0) for c in range(k)]))


def refine(embeddings: np.ndarray, labels: np.ndarray, k: int, iterations: int = 3) -> np.ndarray:
    """A few spherical k-means steps from the agglomerative start (fixes early merge mistakes)."""
    for _ in range(iterations):
        if any(not np.any(labels == c) for c in range(k)):
            break
        new = np.argmax(embeddings @ centroids(embeddings, labels, k).T, axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
    return labels


def viterbi(scores: np.ndarray, switch_cost: np.ndarray) -> np.ndarray:
    """Best label path maximising sum(scores) minus ``switch_cost[t]`` for each change at t -> t+1.

    Why: single 0.8 s windows are noisy; speakers change at turn boundaries, not every window.
    """
    n, k = scores.shape
    if n == 0:
        return np.zeros(0, dtype=int)
    total = scores[0].copy()
    back = np.zeros((n, k), dtype=int)
    for t in range(1, n):
        stay = total
        best_prev = int(np.argmax(total))
        switch = total[best_prev] - switch_cost[t - 1]
        take_switch = switch > stay
        back[t] = np.where(take_switch, best_prev, np.arange(k))
        total = np.where(take_switch, switch, stay) + scores[t]
    path = np.zeros(n, dtype=int)
    path[-1] = int(np.argmax(total))
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path
