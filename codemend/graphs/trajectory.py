"""The graph's final state handed over as a ``TrajectoryRecord`` (what the store persists)."""

from __future__ import annotations

from typing import Any

from codemend.problems import Problem
from codemend.records import ObjectiveName, StepRecord, TrajectoryRecord, TrajectoryStatus, visible_solved


def _status(values: dict[str, Any], final: StepRecord | None) -> TrajectoryStatus:
    if values.get("stop_reason") == "infrastructure":
        return "infrastructure_error"
    if final is None or not visible_solved(final):
        return "unsolved"
    hidden = values.get("hidden_report")
    return "solved" if hidden is None or hidden.passed else "unsolved"


def to_trajectory(
    values: dict[str, Any],
    *,
    problem: Problem,
    trajectory_id: str,
    run_id: str,
    sample_index: int = 0,
    objective: ObjectiveName = "correctness",
) -> TrajectoryRecord:
    """Build the record from the values of a finished run of the repair graph."""
    steps: list[StepRecord] = list(values.get("steps", []))
    index = values.get("final_index")
    final = steps[index] if index is not None else None
    hidden = values.get("hidden_report")
    return TrajectoryRecord(
        trajectory_id=trajectory_id,
        run_id=run_id,
        problem=problem,
        sample_index=sample_index,
        status=_status(values, final),
        stop_reason=values["stop_reason"],
        final_code=final.code if final is not None else None,
        final_reward=values.get("final_reward"),
        hidden_passed=hidden.passed if hidden is not None else None,
        hidden_report=hidden,
        steps=steps,
        tokens_in=values.get("tokens_in", 0),
        tokens_out=values.get("tokens_out", 0),
        wall_s=values.get("elapsed_s", 0.0),
        objective=objective,
        baseline_step=values.get("baseline_step"),
        final_measurement=values.get("final_measurement"),
        final_index=index,
    )
