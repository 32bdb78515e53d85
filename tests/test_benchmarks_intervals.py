"""The bootstrap over problems: seeded, paired, honest about too little data."""

from __future__ import annotations

import pytest
from known_model import (
    BUDGETS,
    ROUNDS,
    RUNS,
    SAMPLES,
    simulated_runs,
    true_fail_to_pass,
    true_pass_at_k,
    true_repair,
    true_resampling,
)

from codemend.benchmarks.intervals import MIN_PROBLEMS, Estimate, ProblemBootstrap


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


def _coverage(estimates: list[Estimate], truth: float) -> float:
    assert all(e.low is not None and e.high is not None for e in estimates)
    return sum(e.low <= truth <= e.high for e in estimates) / len(estimates)  # type: ignore[operator]


@pytest.mark.slow
def test_intervals_cover_the_truth_at_about_the_nominal_rate() -> None:
    """A model with known per-problem success probabilities and token counts (``known_model``),
    300 simulated runs of 30 problems x 6 samples x 2 repair rounds: each interval holds the
    true value in about 95% of the runs (the runs are seeded: the figures are the same each time)."""
    runs = simulated_runs()
    checks: dict[str, tuple[list[Estimate], float]] = {}
    for r in range(ROUNDS + 1):
        for k in (1, 3, SAMPLES):
            estimates = [s.summary.pass_at_k_ci_by_round[r][k] for s in runs]
            checks[f"pass@{k} round {r}"] = (estimates, true_pass_at_k(r, k))
    paired = true_pass_at_k(ROUNDS, 1) - true_pass_at_k(0, ROUNDS + 1)
    differences = [s.summary.repair_minus_resample for s in runs]
    checks["repair - resampling, equal calls"] = ([d for d in differences if d is not None], paired)
    for r in range(1, ROUNDS + 1):
        flips = [s.summary.flips_by_round[r].fail_to_pass for s in runs]
        checks[f"fail -> pass round {r}"] = (flips, true_fail_to_pass(r))
    for budget in BUDGETS:
        points = [next(p for p in s.tokens.points if p.budget == budget) for s in runs]
        a, b = true_resampling(budget), true_repair(budget, ROUNDS)
        checks[f"resampling @{budget} tokens"] = ([p.resampling for p in points], a)
        checks[f"repair @{budget} tokens"] = ([p.repair for p in points], b)
        if a != b:  # where both are the same first attempt, the difference is exactly 0
            checks[f"repair - resampling @{budget} tokens"] = ([p.difference for p in points], b - a)
    covered = {name: _coverage(estimates, truth) for name, (estimates, truth) in checks.items()}
    print("\n".join(f"{name:>36}: {value:.3f}" for name, value in covered.items()))
    pooled = sum(covered.values()) / len(covered)
    print(f"{'all ' + str(len(covered)) + ' intervals':>36}: {pooled:.3f} ({RUNS} runs)")
    assert all(0.90 <= value <= 0.99 for value in covered.values()), covered
    assert 0.93 <= pooled <= 0.97
