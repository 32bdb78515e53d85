"""``GymRepairEnv``: the Gymnasium-style adapter.

Contract test: driven by the same scripted policy over the same problems, it shows the same
conversation, pays the same rewards and stops for the same reasons as ``RepairEnv`` itself
(``env_contract.py``). (The TRL adapter's token-level rollouts are checked in ``test_env_trl.py``
and inside GRPO, in ``test_train_grpo_env.py``; the SkyRL environment inside skyrl-gym, in
``test_env_skyrl.py``; verl's agent loop inside verl, in ``test_env_verl.py``.)"""

from __future__ import annotations

import pytest
from env_contract import CONFIG, PROBLEMS, SCRIPTS, STOPS, Run, action, reference

from codemend.env import GymRepairEnv
from codemend.errors import UserError
from codemend.problems import IOTest, Problem
from codemend.sandbox import LocalSandbox

pytest_plugins = ["repair_fixtures"]


def gym(problem: Problem, sandbox: LocalSandbox) -> Run:
    env = GymRepairEnv(PROBLEMS, sandbox=sandbox, config=CONFIG)
    obs, info = env.reset(options={"index": PROBLEMS.index(problem)})
    assert info["problem_id"] == problem.id
    run = Run([obs], [], None)
    for code in SCRIPTS[problem.id]:
        obs, reward, terminated, truncated, info = env.step(action(code))
        run.rewards.append(reward)
        if terminated or truncated:
            assert truncated == (info["stop_reason"] == "max_rounds")
            run.stop = info["stop_reason"]
            env.close()
            return run
        run.conversations.append(obs)
    raise AssertionError("the script ran out")


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.id)
def test_adapters_agree_with_the_environment(problem: Problem, sandbox: LocalSandbox) -> None:
    expected = reference(problem, sandbox)
    assert expected.stop == STOPS[problem.id]
    assert len(expected.rewards) == len(SCRIPTS[problem.id]) == len(expected.conversations)
    hidden = [t.stdin if isinstance(t, IOTest) else t.code for t in problem.hidden_tests()]
    for name, adapter in {"gym": gym}.items():
        got = adapter(problem, sandbox)
        assert got.conversations == expected.conversations, name
        assert got.rewards == pytest.approx(expected.rewards), name
        assert got.stop == expected.stop, name
        assert not [h for h in hidden for c in got.conversations if h in str(c)], name


def test_a_gym_reset_index_out_of_range_says_so(square: Problem, sandbox: LocalSandbox) -> None:
    from codemend.env import GymRepairEnv

    env = GymRepairEnv([square], sandbox=sandbox)
    for index in (5, -1, "0", True):
        with pytest.raises(UserError, match="the index must be an int from 0 to 0"):
            env.reset(options={"index": index})
    env.close()
