"""Optimisation mode (``--objective speed``): the objective value, measuring a correct
candidate's cost against a baseline from outside it (CPU time or instructions), on workloads the
model may or may not see, the statistics that decide "faster", and the gated speedup reward."""

from codemend.optimise.feedback import baseline_note, speed_feedback
from codemend.optimise.measure import measure_speed, startup_instructions
from codemend.optimise.objective import (
    Correctness,
    Objective,
    Speed,
    as_objective,
    best_visible_index,
    objective_named,
    speed_objective,
)
from codemend.optimise.reward import (
    OPT_THRESHOLD,
    credited,
    measured_reward,
    optimised,
    speed_reward,
)
from codemend.optimise.stats import UTest, mann_whitney, median
from codemend.optimise.workload import Workload, WorkloadCache, describe_hidden, fresh_seed, prepare_workload

__all__ = [
    "OPT_THRESHOLD",
    "Correctness",
    "Objective",
    "Speed",
    "UTest",
    "Workload",
    "WorkloadCache",
    "as_objective",
    "baseline_note",
    "best_visible_index",
    "credited",
    "describe_hidden",
    "fresh_seed",
    "mann_whitney",
    "measure_speed",
    "measured_reward",
    "median",
    "objective_named",
    "optimised",
    "prepare_workload",
    "speed_feedback",
    "speed_objective",
    "speed_reward",
    "startup_instructions",
]
