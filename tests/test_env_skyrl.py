"""``SkyRLRepairEnv`` inside skyrl-gym 0.4: built by ``skyrl_gym.make("codemend-repair")`` from the
rows of a real ``rl`` export (as SkyRL's generator does: the row's other columns as ``extras``,
plus ``max_turns``), then ``init`` and ``step`` until done. It must agree with ``RepairEnv``
itself (the contract test's scripted policy and reference run), and bad input must end the
episode, never raise into the generator.

skyrl-gym is in the ``dev`` extra; without it these tests skip, saying what to install, and in CI
(``CI`` set) they fail instead."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import ModuleType
from typing import Any

import pytest
from env_contract import PROBLEMS, SCRIPTS, SETTINGS, action, reference
from trajectory_data import ECHO_SUM

from codemend.problems import IOTest, Problem
from codemend.sandbox import LocalSandbox
from codemend.trajectories import ExportOptions, TrajectoryRecord, export_trajectories

pytest_plugins = ["trajectory_fixtures"]


@pytest.fixture(scope="module")
def skyrl_gym() -> ModuleType:
    try:
        import skyrl_gym
    except ModuleNotFoundError:
        reason = "skyrl-gym is not installed: pip install -e '.[skyrl]'"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the SkyRL environment inside skyrl-gym")
        pytest.skip(reason)
    import codemend.env.skyrl  # noqa: F401  (registers codemend-repair)

    return skyrl_gym


@pytest.fixture(scope="module")
def rl_rows(
    tmp_path_factory: pytest.TempPathFactory, records: list[TrajectoryRecord]
) -> list[dict[str, Any]]:
    """The task rows (turn 0) of an ``rl`` export of the stored trajectories, one per problem."""
    out = tmp_path_factory.mktemp("skyrl") / "rl.jsonl"
    export_trajectories(records, ExportOptions(format="rl", out=out))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    return [r for r in rows if r["extra_info"]["turn"] == 0]


def extras_of(row: dict[str, Any], max_turns: int) -> dict[str, Any]:
    """What SkyRL's ``PromptDataset`` and generator hand the environment: every column but
    ``prompt`` and ``env_class``, plus the generator's ``max_turns``."""
    return {k: v for k, v in row.items() if k not in ("prompt", "env_class")} | {"max_turns": max_turns}


def row_of(rows: list[dict[str, Any]], problem: Problem) -> dict[str, Any]:
    return next(r for r in rows if r["extra_info"]["task_id"] == problem.id)


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.id)
def test_make_init_step_until_done_agrees_with_the_environment(
    skyrl_gym: ModuleType, rl_rows: list[dict[str, Any]], sandbox: LocalSandbox, problem: Problem
) -> None:
    from skyrl_gym.envs.base_text_env import BaseTextEnv

    row = row_of(rl_rows, problem)
    assert row["env_class"] == "codemend-repair"
    env = skyrl_gym.make(row["env_class"], env_config=SETTINGS, extras=extras_of(row, 5), sandbox=sandbox)
    assert isinstance(env, BaseTextEnv) and isinstance(env, skyrl_gym.Env)
    assert env.spec.id == "codemend-repair" and env.max_turns == SETTINGS["max_turns"]
    chat, meta = env.init(row["prompt"])
    assert meta == {"problem_id": problem.id}
    conversations, rewards = [list(chat)], []
    for code in SCRIPTS[problem.id]:
        out = env.step(action(code))
        assert set(out) == {"observations", "reward", "done", "metadata", "postprocessed_action"}
        rewards.append(out["reward"])
        if out["done"]:
            assert out["observations"] == [] and out["postprocessed_action"] is None
            stop = out["metadata"]["stop_reason"]
            break
        chat = [*chat, {"role": "assistant", "content": action(code)}, *out["observations"]]
        conversations.append(chat)
    metrics = env.get_metrics()
    env.close()
    expected = reference(problem, sandbox)
    assert conversations == expected.conversations
    assert rewards == pytest.approx(expected.rewards) and stop == expected.stop
    assert metrics["turns"] == len(rewards) and metrics["errors"] == 0.0
    hidden = [t.stdin if isinstance(t, IOTest) else t.code for t in problem.hidden_tests()]
    assert hidden and not [h for h in hidden for c in conversations if h in str(c)]


def test_max_turns_comes_from_the_generator_unless_the_env_config_sets_it(
    skyrl_gym: ModuleType, rl_rows: list[dict[str, Any]], sandbox: LocalSandbox
) -> None:
    row = row_of(rl_rows, ECHO_SUM)
    env = skyrl_gym.make("codemend-repair", env_config={}, extras=extras_of(row, 1), sandbox=sandbox)
    env.init(row["prompt"])
    out = env.step(action(SCRIPTS["echo-sum"][0]))
    assert env.max_turns == 1 and out["done"] and out["metadata"]["stop_reason"] == "max_rounds"
    env.close()


def test_bad_input_ends_the_episode_and_never_raises(
    skyrl_gym: ModuleType, rl_rows: list[dict[str, Any]], sandbox: LocalSandbox
) -> None:
    row = row_of(rl_rows, PROBLEMS[0])
    truth = ("reward_model", "reward_spec", "ground_truth")
    no_truth = {k: v for k, v in extras_of(row, 3).items() if k not in truth}
    env = skyrl_gym.make("codemend-repair", env_config={}, extras=no_truth, sandbox=sandbox)
    chat, meta = env.init(row["prompt"])
    assert chat == row["prompt"] and "no ground_truth" in meta["error"]
    out = env.step("```python\nprint(1)\n```")
    assert (out["done"], out["reward"], out["observations"]) == (True, 0.0, [])
    assert "codemend `rl` export" in out["metadata"]["error"] and env.get_metrics()["errors"] == 1.0

    env = skyrl_gym.make("codemend-repair", env_config={}, extras=extras_of(row, 3), sandbox=sandbox)
    env.init(row["prompt"])
    out = env.step(None)
    assert out["done"] and out["reward"] == 0.0 and out["metadata"]["error"].endswith("not text")

    env = skyrl_gym.make("codemend-repair", env_config={}, extras=extras_of(row, 3), sandbox=sandbox)
    env.init(row["prompt"])
    assert env.step(action(SCRIPTS["square"][1]))["done"]
    out = env.step(action(SCRIPTS["square"][1]))
    assert out["metadata"]["error"] == "step() after the episode ended" and out["reward"] == 0.0
    assert env.get_metrics() == {"turns": 2, "hidden_passed": 1.0, "errors": 1.0}
    env.close()


def test_without_skyrl_gym_the_class_names_the_extra_to_install() -> None:
    """In a process where skyrl-gym cannot be imported, building the env says what to install."""
    code = (
        "import sys; sys.modules['skyrl_gym'] = None\n"
        "from codemend.env import SkyRLRepairEnv\n"
        "from codemend.errors import UserError\n"
        "try:\n    SkyRLRepairEnv({}, {})\n"
        "except UserError as exc:\n    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "pip install 'codemend[skyrl]'" in out.stdout, out.stdout
