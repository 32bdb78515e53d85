"""A TRL adapter: ``GRPOTrainer(rollout_func=...)`` rolling out repair episodes.

Written against TRL 1.16's ``GRPOTrainer`` (``trl/trainer/grpo_trainer.py``):
``rollout_func(prompts, trainer) -> dict`` gets the process's slice of prompts (one rollout
each: the sampler has already repeated every prompt ``num_generations`` times) and returns
``prompt_ids``, ``completion_ids`` and ``logprobs``; ``env_mask`` marks the model's tokens (1)
against the environment's (0) and every other key is passed to the reward functions, one value
per rollout. Here a rollout is a whole episode: the completion is every attempt with the
environment's feedback between them (masked out of the loss), and ``episode_reward`` (the sum of
the environment's turn rewards) is scored by ``episode_reward`` below.

Why ``rollout_func`` and not ``environment_factory``: the latter exposes an environment's
methods as *tools* the model must call with tool-call syntax; in the repair loop the action is
the model's whole reply and the feedback a user turn, which is what ``rollout_func`` with
``env_mask`` expresses. Generation uses the trainer's model with ``transformers``' ``generate``
(no vLLM here); the prompts must be ones this module made (``repair_dataset``), since TRL does
not pass the other dataset columns to ``rollout_func``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from codemend.env.core import ChatMessages, EnvConfig, EnvStep, RepairEnv, chat, first_observation
from codemend.env.rows import ground_truth
from codemend.env.sync import run_sync
from codemend.errors import UserError
from codemend.problems import Problem
from codemend.prompts import Prompts
from codemend.sandbox import Sandbox
from codemend.sandbox.shared import shared_sandbox
from codemend.trajectories import AsyncTrajectoryStore

RolloutFunc = Callable[[list[Any], Any], dict[str, Any]]


def _key(prompt: Any) -> str:
    return json.dumps(chat(prompt) if isinstance(prompt, list) else prompt, sort_keys=True)


def repair_dataset(problems: Sequence[Problem], config: EnvConfig | None = None) -> list[dict[str, Any]]:
    """GRPO rows: ``prompt`` is the environment's first observation, with ``ground_truth`` and
    ``task_id`` (for reward functions that want them)."""
    rows = []
    for problem in problems:
        first = first_observation(problem, config)
        rows.append({"prompt": first, "ground_truth": ground_truth(problem), "task_id": problem.id})
    return rows


@dataclass(slots=True)
class _Episode:
    env: RepairEnv
    messages: ChatMessages
    prompt_ids: list[int]
    completion_ids: list[int] = field(default_factory=list)
    env_mask: list[int] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    last: EnvStep | None = None


class TokenChat:
    """Chat messages as token ids with the tokenizer's chat template, turn by turn."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer

    def render(self, messages: ChatMessages, generation: bool) -> str:
        """``messages`` in the tokenizer's chat template, as text; ``generation`` adds the assistant's
        opening."""
        text = self.tokenizer.apply_chat_template(messages, add_generation_prompt=generation, tokenize=False)
        return str(text)

    def ids(self, text: str) -> list[int]:
        """The token ids of ``text``, with no special tokens added."""
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def between(self, before: ChatMessages, reply: str, ended: bool, after: ChatMessages) -> list[int]:
        """The tokens after a generated ``reply`` up to the next generation prompt: the end of
        the assistant turn (its end-of-turn token when generation stopped early) and ``after``."""
        done = [*before, {"role": "assistant", "content": reply}]
        closed, full = self.render(done, False), self.render([*done, *after], True)
        tail = full[len(closed) :] if full.startswith(closed) else self.render(after, True)
        cut = closed.rfind(reply) if reply else -1
        end = closed[cut + len(reply) :] if cut >= 0 else ""
        eos = self.tokenizer.eos_token or ""
        if ended and eos and end.startswith(eos):
            end = end[len(eos) :]
        return self.ids(end + tail)


def make_rollout_func(
    problems: Sequence[Problem],
    *,
    sandbox: Sandbox | None = None,
    config: EnvConfig | None = None,
    max_new_tokens: int = 64,
    temperature: float = 1.0,
    store: AsyncTrajectoryStore | None = None,
    run_id: str = "grpo",
    prompts: Prompts | None = None,
) -> RolloutFunc:
    """A ``rollout_func`` whose rollouts are repair episodes over ``problems`` (their first
    prompts being the rows of ``repair_dataset(problems, config)``)."""
    config = config or EnvConfig(prompts=prompts)
    by_prompt = {
        _key(row["prompt"]): p for row, p in zip(repair_dataset(problems, config), problems, strict=True)
    }
    pool = sandbox or shared_sandbox()
    counter = iter(range(1 << 62))

    def rollout(prompts: list[Any], trainer: Any) -> dict[str, Any]:
        missing = [p for p in prompts if _key(p) not in by_prompt]
        if missing:
            raise UserError("a prompt is not one of repair_dataset(problems): build the dataset with it")
        envs = [
            RepairEnv(
                by_prompt[_key(p)],
                sandbox=pool,
                config=config,
                store=store,
                run_id=run_id,
                sample_index=next(counter),
            )
            for p in prompts
        ]
        return _rollout(envs, trainer, max_new_tokens=max_new_tokens, temperature=temperature)

    return rollout


def _rollout(
    envs: list[RepairEnv], trainer: Any, *, max_new_tokens: int, temperature: float
) -> dict[str, Any]:
    tokens = TokenChat(trainer.processing_class)
    firsts = run_sync(_gather([env.reset() for env in envs]))
    episodes = [
        _Episode(env=env, messages=first, prompt_ids=tokens.ids(tokens.render(first, True)))
        for env, first in zip(envs, firsts, strict=True)
    ]
    live = list(episodes)
    while live:
        replies = [
            _generate(trainer, e.prompt_ids + e.completion_ids, max_new_tokens, temperature) for e in live
        ]
        texts = [trainer.processing_class.decode(ids, skip_special_tokens=True) for ids, _ in replies]
        results = run_sync(_gather([e.env.step(t) for e, t in zip(live, texts, strict=True)]))
        for e, (ids, ended), text, result in zip(live, replies, texts, results, strict=True):
            e.completion_ids += ids
            e.env_mask += [1] * len(ids)
            e.rewards.append(result.reward)
            e.last = result
            if not result.done:
                between = tokens.between(e.messages, text, ended, result.new_messages)
                e.completion_ids += between
                e.env_mask += [0] * len(between)
                e.messages = result.observation
        live = [e for e in live if e.last is not None and not e.last.done]
    return {
        "prompt_ids": [e.prompt_ids for e in episodes],
        "completion_ids": [e.completion_ids for e in episodes],
        "logprobs": None,
        "env_mask": [e.env_mask for e in episodes],
        "episode_reward": [sum(e.rewards) for e in episodes],
        "turn_rewards": [e.rewards for e in episodes],
        "stop_reason": [e.last.stop_reason if e.last else None for e in episodes],
    }


async def _gather(coros: list[Any]) -> list[Any]:
    return list(await asyncio.gather(*coros))


def _generate(
    trainer: Any, ids: list[int], max_new_tokens: int, temperature: float
) -> tuple[list[int], bool]:
    """Sample one reply with the trainer's model: its new token ids, and whether it ended with
    an end-of-sequence token (rather than at ``max_new_tokens``)."""
    import torch

    tokenizer = trainer.processing_class
    model = trainer.accelerator.unwrap_model(trainer.model)
    eos = tokenizer.eos_token_id
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = model.generate(
            input_ids=torch.tensor([ids], device=model.device),
            attention_mask=torch.ones(1, len(ids), dtype=torch.long, device=model.device),
            max_new_tokens=max_new_tokens,
            do_sample=temperature > 0,
            temperature=temperature if temperature > 0 else None,
            top_p=1.0,
            pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos,
            eos_token_id=eos,
            use_cache=True,
        )
    if was_training:
        model.train()
    new = out[0, len(ids) :].tolist()
    return new, bool(new) and new[-1] == eos


def episode_reward(completions: list[Any], **kwargs: Any) -> list[float]:
    """GRPO reward function reading the ``episode_reward`` the rollout function returned."""
    rewards = kwargs.get("episode_reward")
    if rewards is None:
        raise UserError("episode_reward needs make_rollout_func's rollouts (no episode_reward column)")
    return [float(r) for r in rewards]
