"""``rl``: prompts for online RL, one per task and one per repair state.

The RL trainers generate their own rollouts, so what they need is a prompt and a way to score
a reply: each distinct state the model was sent (the task; the task with a failing attempt and
its feedback) becomes a row whose ``ground_truth`` is the problem's tests as JSON, scored by
``codemend.rewards.compute_score``. Rows of a speed trajectory carry ``objective: speed`` in
``extra_info`` (the score is then the correctness-gated speedup) and, when the problem had no
reference solution, the trajectory's baseline code as the ground truth's ``reference_solution``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

from codemend.problems import Problem
from codemend.records import RunRecord, TrajectoryRecord
from codemend.trajectories.export.attempts import chat, states
from codemend.trajectories.export.formats import Built
from codemend.trajectories.export.rows import RlRow
from codemend.trajectories.export.select import Row
from codemend.trajectories.ground_truth import to_ground_truth


def source_of(run: RunRecord | None) -> str:
    """The default ``data_source`` of a run's rows: ``codemend/<benchmark>`` (a set of the user's
    is named by its file: ``codemend bench jsonl --data x/square.json`` gives ``codemend/square``),
    so that verl's per-source metrics keep benchmarks apart; ``codemend`` for a run that names no
    benchmark. ``codemend.rewards.compute_score`` scores ``codemend`` and ``codemend/...`` rows."""
    settings = run.settings if run is not None else {}
    name, data = settings.get("benchmark"), settings.get("data")
    if isinstance(data, str) and data and name in ("jsonl", "json", None):
        name = Path(data).name.split(".")[0]
    slug = re.sub(r"[^a-z0-9_.-]+", "-", str(name or "").lower()).strip("-")
    return f"codemend/{slug}" if slug else "codemend"


def rl_rows(
    trajectories: Iterable[TrajectoryRecord],
    *,
    data_source: str | Callable[[TrajectoryRecord], str],
    env_class: str,
) -> Built:
    """Distinct states in order of first appearance; ``extra_info.index`` and ``split`` are
    set when the rows are written (``number_rl_rows``). ``data_source``: the column's value, or
    a function of the trajectory giving it."""
    source = data_source if callable(data_source) else (lambda _: data_source)
    rows, withheld = [], 0
    seen: set[str] = set()
    truths: dict[tuple[str, str, str | None], str] = {}
    for t in trajectories:
        for state in states(t):
            if state.key in seen:
                continue
            seen.add(state.key)
            if not state.clean:
                withheld += 1
                continue
            scored = _scored_problem(t)
            key = (t.objective, scored.id, scored.reference_solution)
            if key not in truths:
                truths[key] = to_ground_truth(scored)
            truth = truths[key]
            data = RlRow.model_validate(
                {
                    "data_source": source(t),
                    "prompt": chat(state.messages),
                    "env_class": env_class,
                    "reward_model": {"ground_truth": truth},
                    "reward_spec": {"ground_truth": truth},
                    "ground_truth": truth,
                    "extra_info": {
                        "index": 0,
                        "split": "train",
                        "task_id": state.task_id,
                        "turn": state.depth,
                        "objective": t.objective,
                        "cost": _cost(t),
                    },
                }
            )
            rows.append(Row(task_id=state.task_id, data=data.model_dump(), dedup_scope=state.key))
    return Built(rows=rows, withheld=withheld)


def _cost(t: TrajectoryRecord) -> str:
    """How the run measured cost (its measurements say): what ``compute_score`` measures too."""
    methods = {s.measurement.method for s in t.steps if s.measurement is not None}
    return "instructions" if "instructions" in methods else "cpu"


def _scored_problem(t: TrajectoryRecord) -> Problem:
    """The problem a reply to ``t``'s states is scored on: for speed, with its baseline."""
    problem = t.problem
    if t.objective != "speed" or problem.reference_solution is not None or t.baseline_step is None:
        return problem
    baseline = next((s.code for s in t.steps if s.index == t.baseline_step), None)
    return problem.model_copy(update={"reference_solution": baseline})


def number_rl_rows(rows: list[Row]) -> None:
    """Set ``extra_info.split`` and ``extra_info.index`` (the position within the split)."""
    counters: dict[str, int] = {}
    for row in rows:
        info = row.data["extra_info"]
        info["split"] = row.split
        info["index"] = counters.get(row.split, 0)
        counters[row.split] = info["index"] + 1
