"""Which trajectories and rows an export keeps: ``--select``, ``--min-reward``, ``--dedup``,
``--max-per-task`` and ``--split-by-task``, applied in that order."""

from __future__ import annotations

import ast
import functools
import math
import random
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from codemend.records import TrajectoryRecord
from codemend.trajectories.export.attempts import solved, trajectory_reward

SelectMode = Literal["correct", "best", "all"]
Split = Literal["train", "test"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One output row and what selection needs to know about it."""

    task_id: str
    data: dict[str, Any]
    dedup_scope: str = ""  # rows are duplicates when scope and normalised codes are equal
    dedup_codes: tuple[str, ...] = ()
    rank: float = 0.0
    split: Split = "train"
    meta: dict[str, Any] = field(default_factory=dict)


def select_trajectories(
    trajectories: Iterable[TrajectoryRecord], mode: SelectMode, min_reward: float | None
) -> list[TrajectoryRecord]:
    """``correct``: solved ones; ``best``: the best one per task; ``all``: every one. Then
    those below ``min_reward`` (the final reward) are dropped."""
    kept = [t for t in trajectories if min_reward is None or trajectory_reward(t) >= min_reward]
    if mode == "correct":
        return [t for t in kept if solved(t)]
    if mode == "best":
        best: dict[str, TrajectoryRecord] = {}
        for t in kept:
            current = best.get(t.problem.id)
            if current is None or _merit(t) > _merit(current):
                best[t.problem.id] = t
        return [t for t in kept if best[t.problem.id] is t]
    return kept


def _merit(t: TrajectoryRecord) -> tuple[float, bool, int, int, int]:
    """Higher reward, then solved, then fewer steps, fewer tokens, earlier sample."""
    return (trajectory_reward(t), solved(t), -len(t.steps), -(t.tokens_in + t.tokens_out), -t.sample_index)


@functools.lru_cache(maxsize=4096)
def normalise_code(code: str) -> str:
    """Code with comments, blank lines and formatting removed (its AST, re-printed), so that
    replies differing only in layout count as duplicates."""
    try:
        return ast.unparse(ast.parse(code))
    except (SyntaxError, ValueError, RecursionError):
        lines = (re.sub(r"\s+", " ", ln.split("#", 1)[0]).rstrip() for ln in code.splitlines())
        return "\n".join(ln for ln in lines if ln.strip())


def dedup(rows: list[Row]) -> list[Row]:
    """The first row of each task with the same scope and normalised code."""
    seen: set[tuple[str, str, tuple[str, ...]]] = set()
    kept = []
    for row in rows:
        key = (row.task_id, row.dedup_scope, tuple(normalise_code(c) for c in row.dedup_codes))
        if key not in seen:
            seen.add(key)
            kept.append(row)
    return kept


def cap_per_task(rows: list[Row], limit: int) -> list[Row]:
    """At most ``limit`` rows per task: the highest ranked, ties in their original order."""
    ranked = sorted(range(len(rows)), key=lambda i: -rows[i].rank)
    taken: dict[str, int] = defaultdict(int)
    keep = set()
    for i in ranked:
        if taken[rows[i].task_id] < limit:
            taken[rows[i].task_id] += 1
            keep.add(i)
    return [row for i, row in enumerate(rows) if i in keep]


def split_by_task(rows: list[Row], test_fraction: float, seed: int) -> list[Row]:
    """Put a seeded random ``test_fraction`` of the tasks (at least one, at most all but one)
    in the test split, so no task is in both."""
    tasks = sorted({row.task_id for row in rows})
    if len(tasks) < 2:
        return rows
    n_test = min(max(1, math.floor(len(tasks) * test_fraction + 0.5)), len(tasks) - 1)
    test = set(random.Random(seed).sample(tasks, n_test))
    return [replace(row, split="test") if row.task_id in test else row for row in rows]
