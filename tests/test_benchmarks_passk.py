"""pass@k by the unbiased estimator, against hand-computed values."""

from __future__ import annotations

from math import comb

import pytest

from codemend.benchmarks.passk import mean_pass_at_k, pass_at_k


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (1, 1, 1, 1.0),
        (1, 0, 1, 0.0),
        (10, 3, 1, 0.3),
        (4, 1, 2, 1 - 3 / 6),  # 1 - C(3,2)/C(4,2)
        (5, 2, 3, 1 - 1 / 10),  # 1 - C(3,3)/C(5,3)
        (10, 8, 3, 1.0),  # fewer than k failures: certain
        (200, 13, 100, 1 - comb(187, 100) / comb(200, 100)),
    ],
)
def test_pass_at_k(n: int, c: int, k: int, expected: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("n", "c", "k"), [(3, 4, 1), (3, 1, 0), (3, 1, 4), (-1, 0, 1)])
def test_invalid_arguments(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_mean_leaves_out_k_above_some_n() -> None:
    scores = mean_pass_at_k([(2, 1), (2, 0), (1, 1)], [1, 2])
    assert scores == {1: pytest.approx((0.5 + 0 + 1) / 3)}
