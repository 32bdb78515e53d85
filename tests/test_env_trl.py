"""The TRL adapter (``make_rollout_func``): its rollouts, sampled by a scripted causal LM, agree with
``RepairEnv``'s own run of the contract (``env_contract.py``), token by token."""

from __future__ import annotations

from typing import Any

import pytest
from env_contract import CONFIG, PROBLEMS, SCRIPTS, action, reference

from codemend.sandbox import LocalSandbox


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
