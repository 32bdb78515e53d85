"""codemend's reward inside verl 0.9.1 (the single-turn path, CPU): verl's ``RLHFDataset`` reads an
``rl`` export, and verl's reward manager, loaded from the README's ``main_ppo`` config (without its
agent loop lines), scores replies with ``codemend.rewards.compute_score`` in codemend's sandbox;
rows of other data go to verl's own scorer in the same manager."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from verl_helpers import compose, export_rl, trainer_overrides

import codemend.rewards
from codemend.problems import IOTest
from codemend.trajectories import from_ground_truth

pytest_plugins = ["trajectory_fixtures", "verl_fixtures"]
pytestmark = [pytest.mark.verl, pytest.mark.usefixtures("verl_importable")]

FENCE = "```"
RIGHT = {
    "square": "def square(x):\n    return x * x\n",
    "add": "def add(a, b):\n    return a + b\n",
    "echo-sum": "print(sum(map(int, input().split())))\n",
}
WRONG = {
    "square": "def square(x):\n    return x + x\n",
    "add": "def add(a, b):\n    return a - b\n",
    "echo-sum": "print(0)\n",
}


def single_turn(agent_loops: Path, data: Path, model: Path, *extra: str) -> Any:
    """The README's config without the agent loop (verl's default single-turn loop)."""
    overrides = trainer_overrides(agent_loops=agent_loops, data=data, model=model)
    return compose([o for o in overrides if ".rollout.agent." not in o] + list(extra))


def score(manager: Any, row: dict[str, Any], reply: str) -> Any:
    """verl's ``run_single`` on one reply to ``row`` (a row of verl's dataset)."""
    import numpy as np
    import torch
    from verl import DataProto

    ids = manager.tokenizer(reply, add_special_tokens=False)["input_ids"]
    tensors = {"responses": torch.tensor([ids]), "attention_mask": torch.ones(1, len(ids), dtype=torch.long)}
    columns = {k: np.array([row[k]], dtype=object) for k in ("data_source", "reward_model", "extra_info")}
    data = DataProto.from_dict(tensors=tensors, non_tensors=columns)
    return manager.loop.run_until_complete(manager.run_single(data))  # the loop it was made on


def fenced(code: str) -> str:
    return f"Here it is.\n{FENCE}python\n{code}{FENCE}\n"


def test_an_rl_export_read_by_verl_and_scored_by_its_reward_manager(
    store_path: Path, tmp_path: Path, verl_model: Path, agent_loops: Path
) -> None:
    from verl.trainer.ppo.reward import load_reward_manager
    from verl.utils.dataset.rl_dataset import RLHFDataset
    from verl.utils.tokenizer import hf_tokenizer

    data = export_rl(store_path, tmp_path / "rl.parquet")
    config = single_turn(agent_loops, data, verl_model)
    tokenizer = hf_tokenizer(str(verl_model))
    rows = list(RLHFDataset(str(data), tokenizer, config.data))
    # routed as the README says: its key, not the top-level one verl 0.9.1 ignores
    manager = load_reward_manager(config, tokenizer, reward_router_address="127.0.0.1:9")
    assert manager.compute_score.args[0] is codemend.rewards.compute_score
    for row in rows:
        problem = from_ground_truth(row["reward_model"]["ground_truth"])
        assert row["data_source"] == "codemend"
        prompt = tokenizer.apply_chat_template(row["raw_prompt"], add_generation_prompt=True, tokenize=False)
        hidden = [t.stdin if isinstance(t, IOTest) else t.code for t in problem.hidden_tests()]
        assert not [h for h in hidden if h in prompt]
        assert score(manager, row, fenced(RIGHT[problem.id]))["reward_score"] == 1.0
        assert score(manager, row, fenced(WRONG[problem.id]))["reward_score"] < 1.0
    assert {from_ground_truth(r["reward_model"]["ground_truth"]).id for r in rows} == set(RIGHT)
    gsm8k = {"data_source": "openai/gsm8k", "reward_model": {"ground_truth": "72"}, "extra_info": {}}
    assert score(manager, gsm8k, "Natalia sold 48 + 24 = 72 clips.\n#### 72")["reward_score"] == 1.0
    assert score(manager, gsm8k, "#### 71")["reward_score"] == 0.0


def test_the_top_level_reward_key_is_ignored_by_verl_0_9_1(
    tmp_path: Path, verl_model: Path, agent_loops: Path
) -> None:
    from verl.trainer.ppo.reward import get_custom_reward_fn

    data = tmp_path / "rl.parquet"
    readme = single_turn(agent_loops, data, verl_model)
    legacy = [o for o in trainer_overrides(agent_loops=agent_loops, data=data, model=verl_model)
              if not o.startswith("reward.custom_reward_function.")]  # fmt: skip
    legacy.append("custom_reward_function.path=pkg://codemend.rewards")
    assert get_custom_reward_fn(compose(legacy)) is None
    assert get_custom_reward_fn(readme).args[0] is codemend.rewards.compute_score


def test_a_file_path_to_rewards_py_scores_with_the_module_itself(
    tmp_path: Path, verl_model: Path, agent_loops: Path
) -> None:
    from verl.trainer.ppo.reward import get_custom_reward_fn

    path = f"reward.custom_reward_function.path={codemend.rewards.__file__}"
    config = single_turn(agent_loops, tmp_path / "rl.parquet", verl_model, path)
    loaded = get_custom_reward_fn(config).args[0]
    assert loaded is codemend.rewards.compute_score  # so use_sandbox(...) reaches it


def test_verls_reward_manager_awaits_acompute_score_and_keeps_its_details(
    store_path: Path, tmp_path: Path, verl_model: Path, agent_loops: Path
) -> None:
    """``name=acompute_score``: verl's ``NaiveRewardManager`` sees a coroutine function, awaits it,
    takes ``score`` as the reward and every other key as the reply's extra info."""
    from verl.trainer.ppo.reward import load_reward_manager
    from verl.utils.dataset.rl_dataset import RLHFDataset
    from verl.utils.tokenizer import hf_tokenizer

    data = export_rl(store_path, tmp_path / "rl.parquet")
    overrides = trainer_overrides(agent_loops=agent_loops, data=data, model=verl_model)
    named = "reward.custom_reward_function.name="
    overrides = [o for o in overrides if ".rollout.agent." not in o and not o.startswith(named)]
    config = compose([*overrides, "reward.custom_reward_function.name=acompute_score"])
    tokenizer = hf_tokenizer(str(verl_model))
    manager = load_reward_manager(config, tokenizer, reward_router_address="127.0.0.1:9")
    assert manager.is_async_reward_score
    assert manager.compute_score.args[0] is codemend.rewards.acompute_score
    for row in RLHFDataset(str(data), tokenizer, config.data):
        problem = from_ground_truth(row["reward_model"]["ground_truth"])
        right = score(manager, row, fenced(RIGHT[problem.id]))
        assert right["reward_score"] == 1.0
        assert right["reward_extra_info"]["acc"] == 1.0
        info = right["reward_extra_info"]
        assert info["tests_passed"] == info["tests"] == len(problem.tests)
        wrong = score(manager, row, fenced(WRONG[problem.id]))
        assert wrong["reward_score"] < 1.0 and wrong["reward_extra_info"]["acc"] == 0.0
        assert wrong["reward_extra_info"]["failing_test"].split(":")[0] in {
            f"{t.visibility} test {i}" for i, t in enumerate(problem.tests)
        }
