"""Repair against resampling at equal tokens: pass@tokens (Olausson et al., ICLR 2024), the
success rate of a strategy as a function of the tokens it may spend, from the stored samples.

Two strategies, on each problem:

- **resampling**: independent first attempts, one after another while the next one fits the
  budget; it succeeds when one of them passes the hidden tests (pass@k's oracle pick: the
  baseline gets the benefit of the doubt);
- **repair**: whole repair trajectories (up to R rounds), one after another; the one the budget
  cuts short returns the answer it had when the budget ran out (that of its last round that fits);
  it succeeds when one of the returned answers passes the hidden tests.

Cost counts every token sent and received: a first attempt costs its prompt and completion; the
answer of round r of a trajectory costs the generator's tokens of steps 0..r and an LLM critic's
tokens of steps 0..r-1 (the critiques that led to step r). Olausson et al. count sampled tokens
only, which would favour repair, whose prompts grow with every round.

A problem's estimate at a budget is the mean success over ``ORDERS`` random orders of its n
stored samples (seeded per problem). The samples are exchangeable, so the first m of a random
order are m independent draws: as long as the budget runs out before the n samples do, the
estimate is unbiased, as pass@k's is for k <= n. A budget above what the n samples of some
problem cost together is "not enough data": the point says how many ``--samples`` it needs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from codemend.benchmarks.intervals import Estimate, ProblemBootstrap, derived_seed, not_enough

if TYPE_CHECKING:
    import numpy as np

ORDERS = 400
"""Random orders of a problem's samples averaged per estimate."""
GRID_POINTS = 8
"""Budgets in the table, besides repair's own."""


@dataclass(frozen=True, slots=True)
class Pool:
    """One problem's samples: per sample and round, the tokens spent to have that round's answer
    (non-decreasing) and whether that answer passes the hidden tests."""

    problem_id: str
    costs: Sequence[Sequence[int]]
    passed: Sequence[Sequence[bool]]


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetPoint:
    budget: int
    samples_needed: int
    """The ``--samples`` every problem needs for its first attempts to cover this budget."""
    resampling: Estimate
    repair: Estimate
    difference: Estimate
    """repair - resampling, paired over problems."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EqualTokens:
    sample_tokens: float
    """What one first attempt costs, on average."""
    trajectory_tokens: float
    """What one whole repair trajectory costs, on average: the budget of the headline."""
    points: list[BudgetPoint]
    headline: BudgetPoint
    """At ``trajectory_tokens``: what repair spent, spent on resampling instead."""


def success_within(
    pool: Pool, budgets: Sequence[int], *, rounds: int | None, seed: int, orders: int = ORDERS
) -> list[float | None]:
    """Per budget, the strategy's mean success over random orders of the pool (None when the
    budget outlasts the pool); ``rounds=0`` is resampling, None the whole trajectories."""
    import numpy as np

    costs = np.asarray(pool.costs, dtype=np.int64)
    passed = np.asarray(pool.passed, dtype=bool)
    if rounds is not None:
        costs, passed = costs[:, : rounds + 1], passed[:, : rounds + 1]
    rng = np.random.default_rng(derived_seed(seed, pool.problem_id))
    order = np.argsort(rng.random((orders, len(costs))), axis=1)
    whole = costs[:, -1][order]  # per order, the cost of each unit run in full
    spent = np.cumsum(whole, axis=1)
    before = spent - whole
    final = passed[:, -1][order]
    total = int(spent[0, -1])
    return [
        None if b > total else float(_succeeds(b, costs, passed, order, spent, before, final).mean())
        for b in budgets
    ]


def _succeeds(
    budget: int,
    costs: np.ndarray,
    passed: np.ndarray,
    orders: np.ndarray,
    spent: np.ndarray,
    before: np.ndarray,
    final: np.ndarray,
) -> np.ndarray:
    import numpy as np

    won = np.any((spent <= budget) & final, axis=1)
    over = spent > budget
    cut = np.argmax(over, axis=1)  # the unit the budget cuts short (where there is one)
    rows = np.arange(len(orders))
    unit = orders[rows, cut]
    left = budget - before[rows, cut]
    last = (costs[unit] <= left[:, None]).sum(axis=1) - 1  # its last round that fits
    partial = np.any(over, axis=1) & (last >= 0) & passed[unit, np.maximum(last, 0)]
    return np.asarray(won | partial)


def budgets_for(pools: Sequence[Pool]) -> tuple[float, float, list[int]]:
    """(mean first-attempt cost, mean trajectory cost, the budgets to report): multiples of a first
    attempt's cost up to what every problem's first attempts cover, and repair's own budget."""
    firsts = [c[0] for p in pools for c in p.costs]
    wholes = [c[-1] for p in pools for c in p.costs]
    sample, trajectory = sum(firsts) / len(firsts), sum(wholes) / len(wholes)
    if sample <= 0:
        return sample, trajectory, []
    reach = min(sum(c[0] for c in p.costs) for p in pools)
    most = int(reach // sample)
    stride = max(1, math.ceil(most / GRID_POINTS))
    grid = {round(k * sample) for k in range(1, most + 1, stride)} | {round(trajectory)}
    return sample, trajectory, sorted(b for b in grid if b > 0)


def samples_needed(pools: Sequence[Pool], budget: int) -> int:
    """The ``--samples`` every problem needs for its first attempts alone to spend ``budget`` tokens
    (the most any one problem needs, at its mean first-attempt cost)."""
    return max(math.ceil(budget * len(p.costs) / max(1, sum(c[0] for c in p.costs))) for p in pools)


def equal_tokens(
    pools: Sequence[Pool], boot: ProblemBootstrap, *, seed: int, budgets: Sequence[int] | None = None
) -> EqualTokens | None:
    """pass@tokens of both strategies over ``pools`` (one per problem, in ``boot``'s order) at
    ``budgets`` (default ``budgets_for``) and at repair's own; None without pools or tokens."""
    if not pools:
        return None
    sample, trajectory, grid = budgets_for(pools)
    budgets = sorted({*budgets, round(trajectory)}) if budgets is not None else grid
    if sample <= 0:
        return None
    resampled = [success_within(p, budgets, rounds=0, seed=seed) for p in pools]
    repaired = [success_within(p, budgets, rounds=None, seed=seed) for p in pools]
    points = []
    for i, budget in enumerate(budgets):
        need = samples_needed(pools, budget)
        a = [r[i] for r in resampled]
        b = [r[i] for r in repaired]
        points.append(_point(boot, budget, need, a, b))
    headline = next(p for p in points if p.budget == round(trajectory))
    return EqualTokens(sample_tokens=sample, trajectory_tokens=trajectory, points=points, headline=headline)


def _point(
    boot: ProblemBootstrap, budget: int, need: int, a: list[float | None], b: list[float | None]
) -> BudgetPoint:
    """A side whose samples some problem ran out of says so; the difference needs both sides."""

    def side(values: list[float | None]) -> Estimate:
        short = sum(v is None for v in values)
        if short:
            return not_enough(
                len(values), f"{short} problem(s) have too few samples; needs --samples >= {need}"
            )
        return boot.estimate([float(v) for v in values if v is not None])

    resampling, repair = side(a), side(b)
    if resampling.value is None or repair.value is None:
        difference = resampling if resampling.value is None else repair
    else:
        paired = [float(y) - float(x) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
        difference = boot.estimate(paired, proportion=False)
    return BudgetPoint(
        budget=budget, samples_needed=need, resampling=resampling, repair=repair, difference=difference
    )
