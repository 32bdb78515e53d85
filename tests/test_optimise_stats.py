"""``codemend.optimise.stats``: the Mann-Whitney test and the median."""

from __future__ import annotations

import math
import random

import pytest

from codemend.optimise import mann_whitney, median


def test_exact_p_values_of_a_small_known_case() -> None:
    # x entirely below y: U = n*m and only 1 of C(7, 3) = 35 orderings is as extreme.
    test = mann_whitney([1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0])
    assert test.method == "mann-whitney-exact"
    assert test.u == 12
    assert test.p_less == pytest.approx(1 / 35)
    assert test.p_greater == pytest.approx(1.0)


def test_the_exact_null_distribution_sums_to_one_and_is_symmetric() -> None:
    x, y = [0.1, 0.5, 0.9, 1.3], [0.2, 0.6, 1.0, 1.4]
    test = mann_whitney(x, y)
    flipped = mann_whitney(y, x)
    assert test.p_less == pytest.approx(flipped.p_greater)
    # U = 10 of 16 here; P(U >= 10) + P(U <= 9) = 1 with P(U <= 9) = P(U' >= 7)
    assert test.u == 10
    assert test.p_less + mann_whitney(y, x).p_less >= 1.0  # the two tails overlap at the observed U


def test_ties_use_the_normal_approximation_and_agree_in_direction() -> None:
    x = [1.0, 1.0, 2.0, 2.0, 3.0] * 6
    y = [2.0, 3.0, 3.0, 4.0, 4.0] * 6
    test = mann_whitney(x, y)
    assert test.method == "mann-whitney-normal"
    assert test.p_less < 1e-6 < 0.5 < test.p_greater


def test_the_normal_approximation_is_close_to_the_exact_test() -> None:
    rng = random.Random(7)
    x = [rng.random() for _ in range(30)]
    y = [rng.random() + 0.08 for _ in range(30)]
    exact = mann_whitney(x, y)
    assert exact.method == "mann-whitney-exact"
    big = mann_whitney(x * 2, y * 2)  # ties now: the normal approximation, same direction
    assert big.method == "mann-whitney-normal"
    assert exact.p_less < 0.05 and big.p_less < exact.p_less
    sd = math.sqrt(30 * 30 * 61 / 12)
    z = (exact.u - 450 - 0.5) / sd
    assert exact.p_less == pytest.approx(0.5 * math.erfc(z / math.sqrt(2)), rel=0.1)


def test_empty_samples_are_refused() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        mann_whitney([], [1.0])


def test_median() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 2.0, 3.0]) == 2.5
