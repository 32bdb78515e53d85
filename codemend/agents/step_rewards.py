"""Per-step rewards inside the repair loop: every step gets one (pluggable) and named
components; the trajectory a final one. (Trainers' reward functions, which score a model's
reply from an exported row, are ``codemend.rewards``.)"""

from __future__ import annotations

from collections.abc import Callable

from codemend.agents.security import security_reward
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


SignalFn = Callable[[TestReport | None, Critique], float | None]


def security_component(report: TestReport | None, critique: Critique) -> float | None:
    """``--constraints security``: the visible pass fraction times 1.0 without findings, less
    per weighted finding (``agents.security.security_reward``), so code that passes nothing
    earns nothing for having no findings; None when not asked for or not available."""
    if critique.security is None:
        return None
    found = security_reward(critique.security)
    return None if found is None else pass_fraction(report, critique) * found


def structure_component(report: TestReport | None, critique: Critique) -> float | None:
    """(Visible tests passed + the closeness of the statements they need to the reference
    solution) / (visible tests + 1) (``agents.structure``); None without a reference, or while
    unscored (not yet checked, or it could not be told which statements the tests need)."""
    found = critique.structure
    return found.score if found is not None and found.available else None


SIGNALS: dict[str, SignalFn] = {"security": security_component, "structure": structure_component}
"""Components from the critic's optional signals: present only where the signal is available."""


def reward_components(report: TestReport | None, critique: Critique | None) -> dict[str, float]:
    """Every named reward of ``REWARDS`` for this step, by name, and each of ``SIGNALS`` the
    critique has (absent, never 0, where it is not available)."""
    components = {name: fn(report, critique) for name, fn in REWARDS.items()}
    for name, signal in SIGNALS.items():
        value = signal(report, critique) if critique is not None else None
        if value is not None:
            components[name] = value
    return components
