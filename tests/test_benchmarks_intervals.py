"""The bootstrap over problems: seeded, paired, honest about too little data."""

from __future__ import annotations

import pytest

from codemend.benchmarks.intervals import MIN_PROBLEMS, ProblemBootstrap


def test_the_same_seed_gives_the_same_interval_and_another_seed_a_close_one() -> None:
    values = [0.0, 0.2, 1.0, 0.6, 0.0, 1.0, 0.4, 0.8, 0.0, 1.0]
    one = ProblemBootstrap(len(values), seed=3).estimate(values)
    assert one == ProblemBootstrap(len(values), seed=3).estimate(values)
    other = ProblemBootstrap(len(values), seed=4).estimate(values)
    assert one.value == other.value == pytest.approx(0.5)
    assert one.low is not None and one.high is not None and other.low is not None and other.high is not None
    assert one.low < 0.5 < one.high and abs(one.low - other.low) < 0.05 and abs(one.high - other.high) < 0.05


def test_too_few_problems_give_no_number_at_all() -> None:
    few = ProblemBootstrap(MIN_PROBLEMS - 1, seed=0).estimate([1.0] * (MIN_PROBLEMS - 1))
    assert not few.known and few.value is None
    assert few.missing == f"not enough data: {MIN_PROBLEMS - 1} problem(s), an interval needs {MIN_PROBLEMS}"
    with pytest.raises(ValueError, match="values for"):
        ProblemBootstrap(6, seed=0).estimate([1.0] * 5)


def test_all_failing_problems_get_the_exact_bound_not_a_zero_width_interval() -> None:
    """Twenty problems that all failed do not show the rate is 0: up to 0.168 at 95%."""
    boot = ProblemBootstrap(20, seed=0)
    none = boot.estimate([0.0] * 20)
    assert (none.value, none.low) == (0.0, 0.0) and none.high == pytest.approx(1 - 0.025 ** (1 / 20))
    every = boot.estimate([1.0] * 20)
    assert every.high == 1.0 and every.low == pytest.approx(0.025 ** (1 / 20))
    same = boot.estimate([0.0] * 20, proportion=False)  # a difference that is zero everywhere
    assert (same.low, same.high) == (0.0, 0.0) and not same.excludes_zero()


def test_a_paired_difference_is_narrower_than_its_parts_suggest() -> None:
    """Problems differ far more than the two methods do on each: pairing removes that spread."""
    easy_or_hard = [0.9, 0.1, 0.8, 0.05, 0.95, 0.2, 0.85, 0.1, 0.9, 0.15, 0.7, 0.05]
    better = [min(1.0, v + 0.08) for v in easy_or_hard]
    boot = ProblemBootstrap(len(better), seed=1)
    a, b = boot.estimate(easy_or_hard), boot.estimate(better)
    diff = boot.estimate([y - x for x, y in zip(easy_or_hard, better, strict=True)], proportion=False)
    assert a.low is not None and b.high is not None and diff.low is not None and diff.high is not None
    assert b.high - b.low > 0.3 and diff.high - diff.low < 0.05
    assert diff.excludes_zero() and not (a.high < b.low)  # the unpaired intervals overlap
