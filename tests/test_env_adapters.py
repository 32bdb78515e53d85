"""Contract tests: every adapter, driven by the same scripted policy over the same problems,
shows the same conversation, pays the same rewards and stops for the same reasons as
``RepairEnv`` itself (``env_contract.py``). (The TRL adapter's token-level rollouts are checked
inside GRPO, in ``test_train_grpo_env.py``; the SkyRL environment inside skyrl-gym, in
``test_env_skyrl.py``; verl's agent loop inside verl, in ``test_env_verl.py``.)"""

from __future__ import annotations

from typing import Any

import pytest
from env_contract import CONFIG, PROBLEMS, SCRIPTS, STOPS, Run, action, reference
from trajectory_data import SQUARE

from codemend.env import GymRepairEnv, problem_from_row
from codemend.env.rows import ground_truth
from codemend.errors import UserError
from codemend.problems import IOTest, Problem
from codemend.sandbox import LocalSandbox


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


def test_rows_name_their_problem() -> None:
    truth = ground_truth(SQUARE)
    for row in (
        {"ground_truth": truth},
        {"reward_spec": {"ground_truth": truth}},
        {"reward_model": {"ground_truth": truth}},
    ):
        assert problem_from_row(row) == SQUARE
    with pytest.raises(UserError, match="ground_truth"):
        problem_from_row({"prompt": []})


class ScriptedModel:
    """A causal LM's ``generate`` answering from ``SCRIPTS``: the scripted policy at the token
    level, for the TRL adapter (which samples with the trainer's model)."""

    device = "cpu"
    training = False

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer

    def eval(self) -> ScriptedModel:
        return self

    def generate(self, input_ids: Any, **kwargs: Any) -> Any:
        import torch

        text = self.tokenizer.decode(input_ids[0].tolist())
        problem = next(p for p in PROBLEMS if p.prompt.strip().splitlines()[0] in text)
        turn = text.count("<|im_start|>assistant") - 1
        ids = self.tokenizer(action(SCRIPTS[problem.id][turn]), add_special_tokens=False)["input_ids"]
        new = torch.tensor([[*ids, self.tokenizer.eos_token_id]])
        return torch.cat([input_ids, new], dim=1)


@pytest.mark.slow
def test_trl_rollouts_agree_with_the_environment(sandbox: LocalSandbox) -> None:
    pytest.importorskip("transformers", reason="the TRL adapter needs the train extra")
    from types import SimpleNamespace

    from transformers import AutoTokenizer

    from codemend.env import make_rollout_func, repair_dataset
    from codemend.env.trl import TokenChat
    from codemend.llm.embedded import default_gguf

    gguf = default_gguf()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    trainer = SimpleNamespace(
        processing_class=tokenizer,
        model=ScriptedModel(tokenizer),
        accelerator=SimpleNamespace(unwrap_model=lambda model: model),
    )
    rollout = make_rollout_func(PROBLEMS, sandbox=sandbox, config=CONFIG)
    prompts = [row["prompt"] for row in repair_dataset(PROBLEMS, CONFIG)]
    out = rollout(prompts, trainer)
    chat = TokenChat(tokenizer)
    for i, problem in enumerate(PROBLEMS):
        expected = reference(problem, sandbox)
        assert out["turn_rewards"][i] == pytest.approx(expected.rewards)
        assert out["episode_reward"][i] == pytest.approx(sum(expected.rewards))
        assert out["stop_reason"][i] == expected.stop
        ids, mask = out["prompt_ids"][i] + out["completion_ids"][i], [0] * len(out["prompt_ids"][i])
        mask += out["env_mask"][i]
        starts = [k for k in range(1, len(mask)) if mask[k] == 1 and mask[k - 1] == 0]
        # before each attempt the model saw exactly the conversation, in the chat template
        seen = [tokenizer.decode(ids[:k]) for k in starts]
        assert seen == [chat.render(c, True) for c in expected.conversations]
