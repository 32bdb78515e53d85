"""``RepairAgentLoop`` inside verl 0.9.1, on the CPU: verl's own ``AgentLoopWorker``, built from
the README's config, runs repair episodes over the rows of an ``rl`` export that verl's
``RLHFDataset`` read, against a scripted rollout server (verl tests its agent loops with a server
manager of this kind: ``tests/experimental/agent_loop/test_agent_loop_extra_fields_schema_on_cpu.py``
in its wheel) and SmolLM2's tokenizer. The episodes are real: code runs in codemend's sandbox,
the critic writes the feedback, the hidden tests score the episode."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from env_contract import PROBLEMS, SCRIPTS, STOPS, action
from verl_helpers import IM_END, compose, export_rl, trainer_overrides

from codemend.env import EnvConfig, EnvRewards, RepairEnv
from codemend.problems import IOTest, Problem
from codemend.sandbox import LocalSandbox

pytest_plugins = ["trajectory_fixtures", "verl_fixtures"]
pytestmark = [pytest.mark.verl, pytest.mark.usefixtures("verl_importable")]

LOGPROB = -0.25


class ScriptedRollout:
    """verl's server manager: the scripted reply of the prompt's problem and turn, as tokens that
    end the assistant turn, each with logprob ``LOGPROB``."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.prompts: list[str] = []

    async def generate(self, request_id: str, *, prompt_ids: list[int], **kwargs: Any) -> Any:
        from verl.workers.rollout.replica import TokenOutput

        text = self.tokenizer.decode(prompt_ids)
        self.prompts.append(text)
        problem = next(p for p in PROBLEMS if p.prompt.splitlines()[0] in text)
        turn = text.count("<|im_start|>assistant") - 1
        ids = self.tokenizer(action(SCRIPTS[problem.id][turn]), add_special_tokens=False)["input_ids"]
        ids = [*ids, self.tokenizer.convert_tokens_to_ids(IM_END)]
        return TokenOutput(token_ids=ids, log_probs=[LOGPROB] * len(ids))


def reference(problem: Problem, sandbox: LocalSandbox) -> tuple[list[dict[str, str]], list[str], list[float]]:
    """The environment driven directly: first prompt, each feedback message, turn rewards."""

    async def main() -> tuple[list[dict[str, str]], list[str], list[float]]:
        config = EnvConfig(max_turns=3, rewards=EnvRewards(mode="final"), history="full")
        env = RepairEnv(problem, sandbox=sandbox, config=config)
        first, feedback, rewards = await env.reset(), [], []
        for code in SCRIPTS[problem.id]:
            step = await env.step(action(code))
            rewards.append(step.reward)
            if step.done:
                return first, feedback, rewards
            feedback += [m["content"] for m in step.new_messages]
        raise AssertionError("the script ran out")

    return asyncio.run(main())


def rollout(config: Any, data: Path) -> tuple[Any, ScriptedRollout]:
    """verl's ``AgentLoopWorker.generate_sequences`` over every row of ``data``."""
    from verl import DataProto
    from verl.experimental.agent_loop.agent_loop import AgentLoopWorker
    from verl.utils.dataset.rl_dataset import RLHFDataset, collate_fn

    server = ScriptedRollout(None)
    worker = AgentLoopWorker(config, llm_client=server)
    server.tokenizer = worker.tokenizer
    dataset = RLHFDataset(str(data), worker.tokenizer, config.data)
    batch = DataProto.from_single_dict(collate_fn([dataset[i] for i in range(len(dataset))]))
    batch.meta_info = {"global_steps": 1, "validate": False}
    return asyncio.run(worker.generate_sequences(batch)), server


def runs(mask: list[int]) -> list[tuple[int, int, int]]:
    """(value, start, end) of each run of equal mask values."""
    found: list[tuple[int, int, int]] = []
    for i, m in enumerate(mask):
        if found and found[-1][0] == m:
            found[-1] = (m, found[-1][1], i + 1)
        else:
            found.append((m, i, i + 1))
    return found


def test_repair_episodes_inside_verls_agent_loop_worker(
    store_path: Path, tmp_path: Path, verl_model: Path, agent_loops: Path, sandbox: LocalSandbox
) -> None:
    data = export_rl(store_path, tmp_path / "rl.parquet")
    config = compose(trainer_overrides(agent_loops=agent_loops, data=data, model=verl_model))
    out, server = rollout(config, data)
    tokenizer = server.tokenizer
    batch, extra = out.batch, out.non_tensor_batch
    width = batch["prompts"].shape[1]
    expected = {p.id: reference(p, sandbox) for p in PROBLEMS}
    seen: Counter[str] = Counter()
    for i in range(len(out)):
        shown = batch["attention_mask"][i, :width].tolist()
        prompt = [t for t, a in zip(batch["prompts"][i].tolist(), shown, strict=True) if a]
        kept = batch["attention_mask"][i, width:].bool()
        response = batch["responses"][i][kept].tolist()
        mask = batch["response_mask"][i][kept].tolist()
        logprobs = batch["rollout_log_probs"][i][kept].tolist()
        problem = next(p for p in PROBLEMS if p.prompt.splitlines()[0] in tokenizer.decode(prompt))
        first, feedback, rewards = expected[problem.id]
        seen[problem.id] += 1
        rendered = tokenizer.apply_chat_template(first, add_generation_prompt=True, tokenize=False)
        assert tokenizer.decode(prompt) == rendered
        assert extra["turn_scores"][i] == pytest.approx(rewards)
        assert extra["stop_reason"][i] == STOPS[problem.id] and extra["error"][i] is None
        assert extra["__num_turns__"][i] == 2 * len(rewards)
        assert batch["rm_scores"][i].sum().item() == pytest.approx(sum(rewards))
        # generated tokens (mask 1) are the replies, verbatim; environment tokens (mask 0) carry
        # the critic's feedback; logprobs line up with the generated tokens only
        segments = runs(mask)
        replies = [tokenizer.decode(response[s:e]) for m, s, e in segments if m == 1]
        assert replies == [action(code) + IM_END for code in SCRIPTS[problem.id][: len(rewards)]]
        between = [tokenizer.decode(response[s:e]) for m, s, e in segments if m == 0]
        assert len(between) == len(feedback) and all(f in b for f, b in zip(feedback, between, strict=True))
        assert logprobs == [LOGPROB if m else 0.0 for m in mask]
        whole = tokenizer.decode(prompt + response)
        hidden = [t.stdin if isinstance(t, IOTest) else t.code for t in problem.hidden_tests()]
        assert not [h for h in hidden if h in whole]
    assert set(seen) == {p.id for p in PROBLEMS}
    assert not [h for p in PROBLEMS for t in p.hidden_tests() for h in [getattr(t, "code", None) or t.stdin]
                if any(h in text for text in server.prompts)]  # fmt: skip
    square = next(i for i in range(len(out)) if extra["stop_reason"][i] == "solved")
    kept = batch["attention_mask"][square, width:].bool()
    mask = batch["response_mask"][square][kept].tolist()
    print(
        "one episode (square):",
        json.dumps({"turns": len(extra["turn_scores"][square]), "turn_scores": extra["turn_scores"][square],
                    "reward_score": batch["rm_scores"][square].sum().item(), "model_tokens": sum(mask),
                    "environment_tokens": len(mask) - sum(mask)}),
    )  # fmt: skip


def test_a_row_that_is_not_codemends_fails_its_own_episode_only(
    store_path: Path, tmp_path: Path, verl_model: Path, agent_loops: Path
) -> None:
    data = export_rl(store_path, tmp_path / "rl.jsonl")
    rows = [json.loads(line) for line in data.read_text().splitlines()]
    gsm8k = {
        "data_source": "openai/gsm8k",
        "reward_model": {"style": "rule", "ground_truth": "72"},
        "reward_spec": {"method": "rule", "ground_truth": "72"},
        "ground_truth": "72",
    }
    other = {**rows[0], **gsm8k}
    data.write_text("".join(json.dumps(r) + "\n" for r in [rows[0], other]))
    config = compose(trainer_overrides(agent_loops=agent_loops, data=data, model=verl_model))
    out, _ = rollout(config, data)
    extra = out.non_tensor_batch
    assert extra["error"][0] is None and extra["stop_reason"][0] in STOPS.values()
    assert "ground_truth" in extra["error"][1] and extra["turn_scores"][1] == []
    assert out.batch["rm_scores"][1].sum().item() == 0.0
    assert out.batch["response_mask"][1].sum().item() == 0  # nothing of it is trained on
    assert out.batch["response_mask"][0].sum().item() > 0
