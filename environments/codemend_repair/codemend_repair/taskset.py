"""The tasks: one per problem of a codemend ``rl`` export, or of a codemend problem file.

Written against verifiers 0.4.0 (``verifiers/v1/taskset.py``: ``Taskset.load() -> Iterable[Task]``;
``verifiers/v1/task.py``: ``TaskData``, frozen, riding on every trace as ``task.data``). A task's
``prompt`` is the repair environment's own first observation (the generate prompt, visible tests
only); its ``ground_truth`` is the ``rl`` export's column, which the environment scores with and
no prompt ever shows. A row that names no codemend problem still becomes a task (its own prompt,
no ground truth) so that only its episode fails, saying why, and the others run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import verifiers.v1 as vf
from pydantic import Field

from codemend.env import EnvConfig, EnvRewards, problem_from_row
from codemend.env.core import first_observation
from codemend.errors import UserError
from codemend.problems import load_problems
from codemend.trajectories import to_ground_truth


class RepairTasksetConfig(vf.TasksetConfig):
    """``--env.taskset.*``: the rows, and how each episode runs and is rewarded."""

    data: Path | None = None
    """A codemend ``rl`` export (``.jsonl``/``.parquet``) or a codemend problem file."""
    max_turns: int = Field(3, ge=1)
    """Attempts per episode: the first one and ``max_turns - 1`` repairs."""
    reward_mode: str = "final"
    """``final``, ``per_turn``, ``improvement`` or ``discounted`` (see ``codemend.env.EnvRewards``)."""
    discount: float = 0.9
    constraint_weight: float = 0.0
    component_weights: dict[str, float] = Field(default_factory=dict)
    """Weights of the critic's signal components (``security``, ``structure``) in each turn's reward."""
    constraints: list[str] = Field(default_factory=list)
    """Constraints added to the critic's: ``["security"]`` (bandit; no "solved" on a high finding)."""
    feedback: str = "tests"
    """``tests``, or ``trace``: a failing turn's first failing visible test traced into the feedback."""

    def episode_config(self) -> EnvConfig:
        rewards = EnvRewards(
            mode=self.reward_mode,  # type: ignore[arg-type]  # checked by EnvRewards
            discount=self.discount,
            constraint_weight=self.constraint_weight,
            component_weights=dict(self.component_weights),
        )
        return EnvConfig(
            max_turns=self.max_turns,
            rewards=rewards,
            history="full",
            feedback=self.feedback,  # type: ignore[arg-type]  # checked by EnvConfig
            constraints=tuple(self.constraints),  # type: ignore[arg-type]  # checked by EnvConfig
        )


class RepairData(vf.TaskData):
    ground_truth: str | None = None
    """The problem with all its tests (codemend's ``rl`` ground truth); None for a bad row."""


class RepairTask(vf.Task[RepairData, vf.State, vf.TaskConfig]):
    pass


class RepairTaskset(vf.Taskset[RepairTask, RepairTasksetConfig]):
    def load(self) -> Iterator[RepairTask]:
        if self.config.data is None:
            raise UserError("codemend-repair needs rows: --env.taskset.data PATH (an rl export or problems)")
        config = self.config.episode_config()
        seen: set[str] = set()
        for index, row in enumerate(_rows(self.config.data)):
            data = _task_data(index, row, config)
            if data.id in seen:  # an rl export's repair-state rows repeat their task
                continue
            seen.add(data.id or "")
            yield RepairTask(data, self.config.task)


def _rows(path: Path) -> list[dict[str, Any]]:
    """The rows of an ``rl`` export, or ``{"ground_truth": ...}`` rows for a problem file."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return [dict(r) for r in pq.read_table(path).to_pylist()]
    lines = path.read_text().splitlines() if path.suffix == ".jsonl" else []
    rows = [json.loads(line) for line in lines if line.strip()]
    if rows and all(isinstance(r.get("prompt"), list) for r in rows):  # chat prompts: an rl export
        return rows
    return [{"ground_truth": to_ground_truth(p)} for p in load_problems(path)]


def _task_data(index: int, row: dict[str, Any], config: EnvConfig) -> RepairData:
    task_id = str((row.get("extra_info") or {}).get("task_id") or f"row-{index}")
    try:
        problem = problem_from_row(row)
    except UserError:
        return RepairData(id=task_id, name=task_id, prompt=row.get("prompt"), ground_truth=None)
    return RepairData(
        id=problem.id,
        name=problem.id,
        prompt=first_observation(problem, config),  # type: ignore[arg-type]  # pydantic parses the dicts
        ground_truth=to_ground_truth(problem),
    )
