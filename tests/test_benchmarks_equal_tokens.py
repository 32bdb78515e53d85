"""pass@tokens on hand-made pools: what each strategy affords within a budget, and where the stored
samples run out."""

from __future__ import annotations

import statistics

import pytest
from known_model import (
    BUDGETS,
    POPULATION,
    ROUNDS,
    Kind,
    KnownModel,
    kind_repair,
    kind_resampling,
    simulated_runs,
    true_repair,
    true_resampling,
)

from codemend.benchmarks.equal_tokens import Pool, budgets_for, equal_tokens, samples_needed, success_within
from codemend.benchmarks.intervals import ProblemBootstrap
from codemend.benchmarks.metrics import round_costs
from codemend.benchmarks.passk import pass_at_k
from codemend.benchmarks.spec import BenchSpec
from codemend.problems import Problem


def test_resampling_at_k_first_attempts_worth_of_tokens_is_pass_at_k() -> None:
    pool = Pool("p", [[50, 120]] * 8, [[True, True]] * 3 + [[False, False]] * 5)
    rates = success_within(pool, [49, 50, 100, 150, 400], rounds=0, seed=0, orders=20_000)
    assert rates[0] == 0.0  # not even one attempt fits
    assert rates[1:] == pytest.approx([pass_at_k(8, 3, k) for k in (1, 2, 3, 8)], abs=0.01)


def test_a_trajectory_the_budget_cuts_short_returns_its_answer_so_far() -> None:
    late = Pool("p", [[100, 250, 400]] * 3, [[False, False, True]] * 3)  # passes at round 2
    assert success_within(late, [100, 399, 400, 1200], rounds=None, seed=0) == [0.0, 0.0, 1.0, 1.0]
    assert success_within(late, [1201], rounds=None, seed=0) == [None]  # past the three trajectories


def test_after_a_trajectory_fails_the_next_one_starts() -> None:
    pool = Pool("p", [[100, 200, 300], [100, 100, 100]], [[False, False, False], [True, True, True]])
    rates = success_within(pool, [100, 399, 400], rounds=None, seed=0, orders=20_000)
    # the solving one first: done at 100; else it starts at 300 and needs 100 more
    assert rates == pytest.approx([0.5, 0.5, 1.0], abs=0.01)


def test_budgets_are_first_attempts_multiples_up_to_the_shortest_pool_plus_repairs_own() -> None:
    pools = [
        Pool("a", [[100, 300]] * 4, [[False, True]] * 4),
        Pool("b", [[100, 100]] * 6, [[True, True]] * 6),
    ]
    sample, trajectory, grid = budgets_for(pools)
    assert (sample, trajectory) == (100, (4 * 300 + 6 * 100) / 10)
    assert grid == [100, 180, 200, 300, 400]  # 4 attempts of problem a, and 180
    assert samples_needed(pools, 180) == 2 and samples_needed(pools, 700) == 7


def test_a_budget_past_the_stored_samples_is_not_enough_data_saying_what_is_needed() -> None:
    pools = [Pool(f"p{i}", [[100, 400]] * 3, [[False, i % 2 == 0]] * 3) for i in range(12)]
    result = equal_tokens(pools, ProblemBootstrap(12, seed=0), seed=0, budgets=[300, 301])
    assert result is not None
    by_budget = {p.budget: p for p in result.points}
    assert result.headline is by_budget[400] and result.trajectory_tokens == 400
    assert by_budget[300].resampling.value == 0.0 and by_budget[300].repair.value == 0.0
    assert by_budget[400].repair.value == 0.5 and by_budget[400].resampling.known is False
    short = by_budget[301].resampling
    assert short.missing == "not enough data: 12 problem(s) have too few samples; needs --samples >= 4"
    assert by_budget[301].difference == short and by_budget[301].repair.value == 0.0


@pytest.mark.parametrize("kind", POPULATION, ids=lambda k: f"first{k.first}-repair{k.repair}")
def test_each_kinds_curves_match_the_closed_form(kind: Kind) -> None:
    """200 stored trajectories of one kind of problem of the known model: both curves, at every
    budget up to what the samples cover, equal the closed form up to sampling noise."""
    task = "known/0"
    model = KnownModel({task: kind})
    spec = BenchSpec(benchmark="known", rounds=ROUNDS, samples=200, seed=7)
    done = [model.simulate(Problem(id=task, prompt=""), i, spec) for i in range(200)]
    pool = Pool(task, [round_costs(t, ROUNDS) for t, _ in done], [h for _, h in done])
    budgets = list(range(50, 2000, 50))
    resampling = success_within(pool, budgets, rounds=0, seed=0, orders=1000)
    repair = success_within(pool, budgets, rounds=None, seed=0, orders=1000)
    for budget, a, b in zip(budgets, resampling, repair, strict=True):
        assert a == pytest.approx(kind_resampling(kind, budget), abs=0.05), budget
        assert b == pytest.approx(kind_repair(kind, budget, ROUNDS), abs=0.05), budget


@pytest.mark.slow
def test_the_estimated_curves_average_to_the_closed_form_over_many_runs() -> None:
    """Over the 300 simulated runs of the known model (``known_model.simulated_runs``), the mean of
    each estimate is the population's true value: unbiased, within 4 standard errors."""
    runs = simulated_runs()
    for budget in BUDGETS:
        points = [next(p for p in s.tokens.points if p.budget == budget) for s in runs]
        for side, truth in (
            ("resampling", true_resampling(budget)),
            ("repair", true_repair(budget, ROUNDS)),
        ):
            values = [getattr(p, side).value for p in points]
            error = statistics.fmean(values) - truth
            assert abs(error) <= 4 * statistics.stdev(values) / len(values) ** 0.5, (side, budget, error)
