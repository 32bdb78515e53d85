"""Every export format trains unchanged in the trainer it is for (TRL, 2 CPU steps each).

The data is exported from trajectories built with the real sandbox (``trajectory_data``), loaded
with ``datasets`` from the exported files, and given to the trainer as it is. Each test checks
the loss is finite and the weights moved, and prints losses and seconds per step (``-s``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("trl", reason="the trainer tests need the train extra: pip install -e '.[dev,train]'")

import datasets
from train_helpers import Base, common_args, finite, hidden_snippets, token_texts, train_and_measure
from trajectory_data import PROBLEMS
from trl import DPOConfig, DPOTrainer, GRPOConfig, GRPOTrainer, KTOConfig, KTOTrainer, SFTConfig, SFTTrainer

from codemend import rewards
from codemend.sandbox import LocalSandbox
from codemend.trajectories import ExportOptions, TrajectoryRecord, export_trajectories

pytest_plugins = ["trajectory_fixtures", "train_fixtures"]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]


@pytest.fixture(autouse=True)
def _quiet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")
    datasets.disable_progress_bars()


def exported(records: list[TrajectoryRecord], fmt: str, tmp_path: Path) -> datasets.Dataset:
    out = tmp_path / f"{fmt}.jsonl"
    export_trajectories(records, ExportOptions(format=fmt, out=out))  # type: ignore[arg-type]
    return datasets.load_dataset("json", data_files=str(out), split="train", cache_dir=str(tmp_path / "c"))


def report(name: str, measured: Any) -> None:
    print(f"\n[train] {name}: losses={measured.losses} seconds/step={measured.seconds_per_step:.2f}")


def check(measured: Any) -> None:
    assert finite(measured.losses), measured.logs
    assert measured.changed, "the weights did not change"


def trains_clean(name: str, trainer: Any, base: Base) -> None:
    """No hidden test in what it trains on; two steps with finite losses that change the weights."""
    no_hidden_tests(trainer, base)
    measured = train_and_measure(trainer)
    report(name, measured)
    check(measured)


def no_hidden_tests(trainer: Any, base: Base) -> None:
    """The tokenised examples the trainer trains on never hold a hidden test."""
    texts = token_texts(trainer.train_dataset, base.tokenizer)
    assert texts, trainer.train_dataset.column_names
    leaks = [s for s in hidden_snippets(PROBLEMS) for t in texts if s in t]
    assert not leaks


@pytest.mark.parametrize("fmt", ["sft", "openai-sft"])
def test_sft_formats_train_in_sft_trainer(
    fmt: str, base: Base, records: list[TrajectoryRecord], tmp_path: Path
) -> None:
    data = exported(records, fmt, tmp_path)
    args = SFTConfig(**common_args(str(tmp_path / "out"), per_device_train_batch_size=2, max_length=128))
    trainer = SFTTrainer(model=base.copy(), args=args, train_dataset=data, processing_class=base.tokenizer)
    trains_clean(fmt, trainer, base)


def test_dpo_trains_in_dpo_trainer(base: Base, records: list[TrajectoryRecord], tmp_path: Path) -> None:
    data = exported(records, "dpo", tmp_path)
    args = DPOConfig(**common_args(str(tmp_path / "out"), per_device_train_batch_size=1, max_length=128))
    trainer = DPOTrainer(
        model=base.copy(),
        ref_model=base.copy().eval(),
        args=args,
        train_dataset=data,
        processing_class=base.tokenizer,
    )
    trains_clean("dpo", trainer, base)


def test_kto_trains_in_kto_trainer(base: Base, records: list[TrajectoryRecord], tmp_path: Path) -> None:
    data = exported(records, "kto", tmp_path)
    assert set(data["label"]) == {True, False}
    args = KTOConfig(**common_args(str(tmp_path / "out"), per_device_train_batch_size=2, max_length=128))
    trainer = KTOTrainer(
        model=base.copy(),
        ref_model=base.copy().eval(),
        args=args,
        train_dataset=data,
        processing_class=base.tokenizer,
    )
    trains_clean("kto", trainer, base)


@pytest.fixture
def scoring_sandbox(sandbox: LocalSandbox) -> Iterator[LocalSandbox]:
    rewards.use_sandbox(sandbox)
    yield sandbox
    rewards.use_sandbox(None)


def test_rl_trains_in_grpo_with_sandbox_reward(
    base: Base, records: list[TrajectoryRecord], tmp_path: Path, scoring_sandbox: LocalSandbox
) -> None:
    data = exported(records, "rl", tmp_path)
    scored: list[float] = []

    def sandbox_reward(completions: list[Any], **kwargs: Any) -> list[float]:
        out = rewards.reward_func(completions, **kwargs)
        scored.extend(out)
        return out

    def brevity(completions: list[Any], **kwargs: Any) -> list[float]:
        """A small secondary term: the 135M model rarely passes a test in 32 tokens, and a group
        whose rewards are all equal has no advantage, hence no gradient."""
        return [-len(str(c)) / 1000 for c in completions]

    args = GRPOConfig(
        **common_args(str(tmp_path / "out"), per_device_train_batch_size=2),
        num_generations=2,
        max_completion_length=32,
        temperature=1.0,
        beta=0.0,  # GRPOTrainer takes no ref_model (it would load one by name); beta=0 needs none
        reward_weights=[1.0, 0.1],
    )
    trainer = GRPOTrainer(
        model=base.copy(),
        reward_funcs=[sandbox_reward, brevity],
        args=args,
        train_dataset=data,
        processing_class=base.tokenizer,
    )
    measured = train_and_measure(trainer)
    report("rl (grpo)", measured)
    print(json.dumps({"sandbox_rewards": scored}))
    assert len(scored) == 4 and all(0.0 <= s <= 1.0 for s in scored)
    check(measured)
