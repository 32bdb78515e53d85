"""``EnvRewards``: the per-turn rewards of each mode and the constraint score's dense term, on
episodes of ``RepairEnv`` with the real sandbox and a scripted policy."""

from __future__ import annotations

import pytest
from env_helpers import HALF, run_episode
from repair_helpers import RIGHT, WRONG

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
