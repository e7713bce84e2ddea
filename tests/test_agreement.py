"""Fleiss' kappa against textbook examples, and the score spread of calibration sessions."""

from __future__ import annotations

import pytest

from qa_engine.app.agreement import fleiss_kappa, kappa_from_counts, spread

#: The worked example of Fleiss' kappa on Wikipedia ("Fleiss' kappa", Worked example): 10 subjects rated by
#: 14 raters into 5 categories; P-bar = 0.378, P-e = 0.213, kappa = 0.210.
WIKIPEDIA_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def test_wikipedia_worked_example() -> None:
    result = kappa_from_counts(WIKIPEDIA_TABLE)
    assert result.subjects == 10 and result.ratings == 140
    assert result.observed == pytest.approx(0.378, abs=5e-4)
    assert result.expected == pytest.approx(0.2128, abs=5e-4)
    assert result.kappa == pytest.approx(0.210, abs=5e-4)
    assert result.unanimous == pytest.approx(0.1)


def test_perfect_and_chance_agreement() -> None:
    perfect = fleiss_kappa([["pass", "pass", "pass"], ["fail", "fail", "fail"], ["pass", "pass", "pass"]])
    assert perfect.kappa == pytest.approx(1.0) and perfect.observed == 1.0 and perfect.unanimous == 1.0
    # two raters who always disagree on a balanced binary item: observed 0, expected 0.5, kappa -1
    opposed = fleiss_kappa([["a", "b"], ["b", "a"], ["a", "b"], ["b", "a"]])
    assert opposed.kappa == pytest.approx(-1.0) and opposed.unanimous == 0.0


def test_one_category_only_leaves_kappa_undefined_but_agreement_full() -> None:
    result = fleiss_kappa([[1, 1], [1, 1, 1]])
    assert result.kappa is None and result.observed == 1.0 and result.expected == 1.0


def test_subjects_with_fewer_than_two_ratings_are_left_out() -> None:
    assert fleiss_kappa([]).kappa is None and fleiss_kappa([["x"]]).subjects == 0
    mixed = fleiss_kappa([["x"], ["a", "a"], ["a", "b"]])
    assert mixed.subjects == 2 and mixed.ratings == 4
    assert mixed.observed == pytest.approx(0.5)  # (1 + 0) / 2
    assert mixed.expected == pytest.approx((3 / 4) ** 2 + (1 / 4) ** 2)


def test_unequal_rater_counts_match_equal_case_when_equal() -> None:
    rows = [["a", "a", "b"], ["b", "b", "b"], ["a", "b", "c"]]
    counts = [[2, 1, 0], [0, 3, 0], [1, 1, 1]]
    assert fleiss_kappa(rows).kappa == pytest.approx(kappa_from_counts(counts).kappa)


def test_spread() -> None:
    s = spread([80.0, 90.0, 100.0])
    assert (s.count, s.minimum, s.maximum, s.mean) == (3, 80.0, 100.0, 90.0)
    assert s.stdev == pytest.approx(10.0)
    assert spread([70.0]).stdev is None and spread([]).mean is None
