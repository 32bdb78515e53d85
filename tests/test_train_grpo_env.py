"""GRPO whose rollouts are multi-turn repair episodes (``codemend.env.trl``), 2 CPU steps.

Each rollout is an episode of ``RepairEnv``: SmolLM2 writes an attempt, codemend's sandbox runs
the visible tests, the critic's feedback comes back as a user turn (masked out of the loss by
``env_mask``) and the episode's rewards (the last one on the hidden tests) are the reward.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("trl", reason="the trainer tests need the train extra: pip install -e '.[dev,train]'")

import datasets
from train_helpers import Base, common_args, finite, hidden_snippets, train_and_measure
from trajectory_data import ADD, SQUARE
from trl import GRPOConfig, GRPOTrainer

from codemend.env import EnvConfig, EnvRewards, episode_reward, make_rollout_func, repair_dataset
from codemend.sandbox import LocalSandbox

pytest_plugins = ["train_fixtures"]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]
PROBLEMS = [SQUARE, ADD]


@pytest.mark.timeout(900)
def test_grpo_rolls_out_repair_episodes(
    base: Base, sandbox: LocalSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")
    config = EnvConfig(max_turns=2, rewards=EnvRewards(mode="per_turn"))
    rows = repair_dataset(PROBLEMS, config)
    rollout = make_rollout_func(PROBLEMS, sandbox=sandbox, config=config, max_new_tokens=24)
    seen: list[dict[str, Any]] = []

    def recorded(prompts: list[Any], trainer: Any) -> dict[str, Any]:
        out = rollout(prompts, trainer)
        seen.append(out)
        return out

    args = GRPOConfig(
        **common_args(str(tmp_path / "out"), per_device_train_batch_size=2),
        num_generations=2,
        max_completion_length=24,
        beta=0.0,  # GRPOTrainer takes no ref_model; beta=0 needs none
    )
    trainer = GRPOTrainer(
        model=base.copy(),
        reward_funcs=episode_reward,
        args=args,
        train_dataset=datasets.Dataset.from_list(rows),
        processing_class=base.tokenizer,
        rollout_func=recorded,
    )
    measured = train_and_measure(trainer)
    turns = [len(r) for out in seen for r in out["turn_rewards"]]
    print(
        f"\n[train] grpo multi-turn: losses={measured.losses} seconds/step={measured.seconds_per_step:.2f}"
        f" turns={turns} stops={[s for out in seen for s in out['stop_reason']]}"
        f" rewards={[r for out in seen for r in out['episode_reward']]}"
    )
    assert finite(measured.losses), measured.logs
    assert measured.changed
    assert len(seen) == 2 and all(len(out["completion_ids"]) == 2 for out in seen)
    for out in seen:
        for ids, mask, rewards, stop in zip(
            out["completion_ids"], out["env_mask"], out["turn_rewards"], out["stop_reason"], strict=True
        ):
            assert len(ids) == len(mask) and mask[0] == 1
            assert (0 in mask) == (len(rewards) > 1)  # feedback tokens only between attempts
            assert stop in ("solved", "max_rounds", "no_progress")
            assert all(0.0 <= r <= 1.0 for r in rewards)
    # the tokens trained on (prompts, attempts, feedback) hold no hidden test
    texts = [
        base.tokenizer.decode(p + c)
        for out in seen
        for p, c in zip(out["prompt_ids"], out["completion_ids"], strict=True)
    ]
    assert not [s for s in hidden_snippets(PROBLEMS) for t in texts if s in t]
    assert any("Your code:" in t for t in texts) or all(
        len(r) == 1 for out in seen for r in out["turn_rewards"]
    )
