"""Per-step rewards inside the repair loop: every step gets one (pluggable) and named
components; the trajectory a final one. (Trainers' reward functions, which score a model's
reply from an exported row, are ``codemend.rewards``.)"""

from __future__ import annotations

from collections.abc import Callable

from codemend.errors import UserError
from codemend.records import Critique, TestReport

RewardFn = Callable[[TestReport | None, Critique | None], float]
"""``(report, critique) -> reward``. For the final reward it gets the hidden-test report and
no critique."""


def pass_fraction(report: TestReport | None, critique: Critique | None) -> float:
    """The fraction of tests that passed (0 when nothing ran)."""
    return report.fraction_passed if report is not None else 0.0


def constraint_score(report: TestReport | None, critique: Critique | None) -> float:
    """CORGI's reward: the fraction of the critic's constraints satisfied."""
    return critique.score if critique is not None else pass_fraction(report, None)


REWARDS: dict[str, RewardFn] = {"pass_fraction": pass_fraction, "constraint_score": constraint_score}


def reward_function(reward: str | RewardFn) -> RewardFn:
    """The step reward ``reward`` names (a key of ``REWARDS``), or ``reward`` itself when it is a
    function; ``UserError`` for an unknown name."""
    if callable(reward):
        return reward
    if reward not in REWARDS:
        raise UserError(f"unknown reward {reward!r}; expected one of {', '.join(REWARDS)} or a function")
    return REWARDS[reward]


def reward_components(report: TestReport | None, critique: Critique | None) -> dict[str, float]:
    """Every named reward of ``REWARDS`` for this step, by name."""
    return {name: fn(report, critique) for name, fn in REWARDS.items()}
