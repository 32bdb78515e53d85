"""Optimisation mode (``--objective speed``): measuring a correct candidate's cost against a
baseline from outside it, the statistics that decide "faster", and the gated speedup reward."""

from codemend.optimise.feedback import baseline_note, speed_feedback
from codemend.optimise.measure import SpeedSettings, measure_speed
from codemend.optimise.reward import (
    OPT_THRESHOLD,
    credited,
    measured_reward,
    optimised,
    speed_reward,
)
from codemend.optimise.stats import UTest, mann_whitney, median
from codemend.optimise.workload import Workload, prepare_workload

__all__ = [
    "OPT_THRESHOLD",
    "SpeedSettings",
    "UTest",
    "Workload",
    "baseline_note",
    "credited",
    "mann_whitney",
    "measure_speed",
    "measured_reward",
    "median",
    "optimised",
    "prepare_workload",
    "speed_feedback",
    "speed_reward",
]
