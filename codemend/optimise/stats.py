"""The one-sided Mann-Whitney U test, small and dependency-free.

``U`` counts the pairs (x, y) with x < y (ties count a half). Without ties and for samples of
up to 30 each the p-value is exact (the null distribution by recursion over arrangements);
otherwise it is the normal approximation with the tie correction and a continuity correction.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

EXACT_MAX = 30


@dataclass(frozen=True, slots=True, kw_only=True)
class UTest:
    u: float
    """Pairs with x < y, ties a half: large when x tends to be smaller."""
    p_less: float
    """One-sided p-value for "x tends to be smaller than y"."""
    p_greater: float
    method: Literal["mann-whitney-exact", "mann-whitney-normal"]


@cache
def _arrangements(n: int, m: int, u: int) -> int:
    """Orderings of n x's and m y's with exactly ``u`` pairs of an x before a y."""
    if u < 0 or u > n * m:
        return 0
    if n == 0 or m == 0:
        return 1 if u == 0 else 0
    # The largest element is an x (it precedes no y) or a y (every x precedes it).
    return _arrangements(n - 1, m, u) + _arrangements(n, m - 1, u - n)


def _exact_at_least(n: int, m: int, u: int) -> float:
    total = math.comb(n + m, n)
    return sum(_arrangements(n, m, k) for k in range(u, n * m + 1)) / total


def _normal_at_least(n: int, m: int, u: float, ties: Counter[float]) -> float:
    size = n + m
    tie_term = sum(t**3 - t for t in ties.values()) / (size * (size - 1))
    var = n * m / 12 * ((size + 1) - tie_term)
    if var <= 0:
        return 1.0
    z = (u - n * m / 2 - 0.5) / math.sqrt(var)
    return 0.5 * math.erfc(z / math.sqrt(2))


def mann_whitney(x: Sequence[float], y: Sequence[float]) -> UTest:
    """Is ``x`` stochastically smaller than ``y`` (``p_less``), or larger (``p_greater``)?"""
    n, m = len(x), len(y)
    if n == 0 or m == 0:
        raise ValueError("the Mann-Whitney test needs two non-empty samples")
    u = sum(1.0 if a < b else 0.5 if a == b else 0.0 for a in x for b in y)
    u_rev = n * m - u
    ties = Counter([*x, *y])
    if max(ties.values()) == 1 and n <= EXACT_MAX and m <= EXACT_MAX:
        p_less = _exact_at_least(n, m, round(u))
        p_greater = _exact_at_least(n, m, round(u_rev))
        return UTest(u=u, p_less=p_less, p_greater=p_greater, method="mann-whitney-exact")
    p_less = _normal_at_least(n, m, u, ties)
    p_greater = _normal_at_least(n, m, u_rev, ties)
    return UTest(u=u, p_less=min(1.0, p_less), p_greater=min(1.0, p_greater), method="mann-whitney-normal")


def median(values: Sequence[float]) -> float:
    """The median of ``values`` (the mean of the two middle ones for an even count); ``values``
    must not be empty."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
