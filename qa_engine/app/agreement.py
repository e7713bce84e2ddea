"""Inter-rater agreement for calibration sessions: Fleiss' kappa, pairwise agreement and score spread.

Pure functions on plain values (no database), so they can be checked against textbook examples.
Fleiss' kappa is computed in its usual generalisation to a varying number of raters per subject
(a calibration session is rarely complete): subject i with n_i >= 2 ratings, n_ij of them in category j,

    P_i = (sum_j n_ij^2 - n_i) / (n_i (n_i - 1)),   p_j = sum_i n_ij / sum_i n_i,
    kappa = (mean P_i - sum_j p_j^2) / (1 - sum_j p_j^2).

With equal n_i this is exactly Fleiss (1971). Subjects with fewer than two ratings carry no information about
agreement and are left out. When every rating falls in one category the expected agreement is 1 and kappa is
undefined (``None``): the observed agreement (1.0) says what there is to say.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Agreement:
    """Agreement of several raters over several subjects on one categorical question."""

    subjects: int  #: subjects with at least two ratings (the ones counted)
    ratings: int  #: ratings on those subjects
    observed: float | None  #: mean pairwise agreement, P-bar (None: no subject with two ratings)
    expected: float | None  #: chance agreement, P-e
    kappa: float | None  #: Fleiss' kappa (None: undefined, see the module docstring)
    unanimous: float | None  #: share of subjects on which every rater gave the same answer


def fleiss_kappa(ratings: Sequence[Sequence[Hashable]]) -> Agreement:
    """Fleiss' kappa of ``ratings``: one sequence of category labels per subject (one label per rater)."""
    counted = [Counter(subject) for subject in ratings if len(subject) >= 2]
    if not counted:
        return Agreement(subjects=0, ratings=0, observed=None, expected=None, kappa=None, unanimous=None)
    totals: Counter[Hashable] = Counter()
    per_subject: list[float] = []
    for counts in counted:
        n = sum(counts.values())
        totals.update(counts)
        per_subject.append((sum(c * c for c in counts.values()) - n) / (n * (n - 1)))
    all_ratings = sum(totals.values())
    observed = sum(per_subject) / len(per_subject)
    expected = sum((c / all_ratings) ** 2 for c in totals.values())
    kappa = None if math.isclose(expected, 1.0) else (observed - expected) / (1.0 - expected)
    unanimous = sum(1 for counts in counted if len(counts) == 1) / len(counted)
    return Agreement(subjects=len(counted), ratings=all_ratings, observed=observed, expected=expected, kappa=kappa,
                     unanimous=unanimous)


def kappa_from_counts(table: Sequence[Sequence[int]]) -> Agreement:
    """Fleiss' kappa from the usual subjects x categories count table (``table[i][j]`` = n_ij)."""
    return fleiss_kappa([[j for j, n in enumerate(row) for _ in range(n)] for row in table])


@dataclass(frozen=True)
class Spread:
    """How far apart the reviewers' total scores of one call are."""

    count: int
    minimum: float | None
    maximum: float | None
    mean: float | None
    stdev: float | None  #: sample standard deviation (None with fewer than two scores)


def spread(scores: Sequence[float]) -> Spread:
    """Min, max, mean and sample standard deviation of ``scores``."""
    if not scores:
        return Spread(count=0, minimum=None, maximum=None, mean=None, stdev=None)
    return Spread(count=len(scores), minimum=min(scores), maximum=max(scores), mean=statistics.fmean(scores),
                  stdev=statistics.stdev(scores) if len(scores) >= 2 else None)
