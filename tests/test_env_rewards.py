"""``EnvRewards``: the per-turn rewards of each mode and the constraint score's dense term, on
episodes of ``RepairEnv`` with the real sandbox and a scripted policy."""

from __future__ import annotations

import pytest
from env_helpers import HALF, run_episode
from repair_helpers import RIGHT, WRONG
from security_helpers import UNSAFE, needs_bandit

from codemend.env import EnvConfig, EnvRewards, RepairEnv
from codemend.errors import UserError
from codemend.problems import Problem
from codemend.sandbox import LocalSandbox

pytest_plugins = ["repair_fixtures"]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("final", [0.0, 0.0, 1.0]),
        ("per_turn", [0.0, 0.5, 1.0]),
        ("improvement", [0.0, 0.5, 0.5]),
        ("discounted", [0.0, 0.0, 0.81]),
    ],
)
def test_reward_modes(square: Problem, sandbox: LocalSandbox, mode: str, expected: list[float]) -> None:
    config = EnvConfig(max_turns=3, rewards=EnvRewards(mode=mode, discount=0.9))  # type: ignore[arg-type]
    _, steps = run_episode(RepairEnv(square, sandbox=sandbox, config=config), [WRONG, HALF, RIGHT])
    assert [s.reward for s in steps] == pytest.approx(expected)


def test_constraint_score_is_a_dense_term(square: Problem, sandbox: LocalSandbox) -> None:
    config = EnvConfig(max_turns=2, rewards=EnvRewards(mode="final", constraint_weight=0.5))
    _, steps = run_episode(RepairEnv(square, sandbox=sandbox, config=config), [WRONG, RIGHT])
    wrong_score = steps[0].info["critique"].score
    assert 0.0 < wrong_score < 1.0
    assert [s.reward for s in steps] == pytest.approx([0.5 * wrong_score, 1.0 + 0.5])


def test_an_unknown_reward_mode_is_a_user_error() -> None:
    with pytest.raises(UserError, match="reward mode"):
        EnvRewards(mode="sparse")  # type: ignore[arg-type]


def test_signal_components_are_weighted_terms_where_the_step_has_them(
    square: Problem, sandbox: LocalSandbox
) -> None:
    weights = {"structure": 0.5}
    config = EnvConfig(max_turns=2, rewards=EnvRewards(mode="per_turn", component_weights=weights))
    referenced = square.model_copy(update={"reference_solution": RIGHT})
    half = "def square(x):\n    return x * 3\n"  # square(3) == 9 passes, square(-2) == 4 fails
    _, steps = run_episode(RepairEnv(referenced, sandbox=sandbox, config=config), [half, RIGHT])
    wrong = steps[0].info["reward_components"]
    assert 1 / 3 < wrong["structure"] < 2 / 3  # (1 visible test passed + closeness) / (2 + 1)
    assert wrong["structure_term"] == pytest.approx(0.5 * wrong["structure"])
    assert [s.reward for s in steps] == pytest.approx([0.5 + 0.5 * wrong["structure"], 1.0 + 0.5])
    # no reference solution: no structure component, so no term (never a 0 standing in for it)
    _, plain = run_episode(RepairEnv(square, sandbox=sandbox, config=config), [WRONG, RIGHT])
    assert "structure" not in plain[0].info["reward_components"]
    assert "structure_term" not in plain[0].info["reward_components"]
    assert [s.reward for s in plain] == pytest.approx([0.0, 1.0])
    # a reference, but structure not weighted: its check (the tests run per statement) is skipped
    unweighted = EnvConfig(max_turns=2, rewards=EnvRewards(mode="per_turn"))
    _, skipped = run_episode(RepairEnv(referenced, sandbox=sandbox, config=unweighted), [half, RIGHT])
    assert "structure" not in skipped[0].info["reward_components"]
    assert [s.reward for s in skipped] == pytest.approx([0.5, 1.0])


@needs_bandit
def test_the_security_constraint_and_component_in_an_episode(square: Problem, sandbox: LocalSandbox) -> None:
    rewards = EnvRewards(mode="per_turn", component_weights={"security": 1.0})
    config = EnvConfig(max_turns=2, rewards=rewards, constraints=("security",))
    _, steps = run_episode(RepairEnv(square, sandbox=sandbox, config=config), [UNSAFE, RIGHT])
    first = steps[0].info
    assert first["report"].passed and not steps[0].done  # passes its tests, yet the episode goes on
    assert "(B602, high)" in steps[0].new_messages[0]["content"]
    assert first["reward_components"]["security"] == pytest.approx(1 / 2.25)
    assert steps[0].reward == pytest.approx(1.0 + 1 / 2.25)
    assert steps[1].stop_reason == "solved" and steps[1].reward == pytest.approx(1.0 + 1.0)


def test_an_unknown_component_or_constraint_is_a_user_error() -> None:
    with pytest.raises(UserError, match="component 'bleu'; expected one of security, structure"):
        EnvRewards(component_weights={"bleu": 1.0})
    with pytest.raises(UserError, match="unknown constraint 'style'"):
        EnvConfig(constraints=("style",))  # type: ignore[arg-type]
