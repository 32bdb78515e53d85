"""The correctness-gated speedup reward, and the speedup a benchmark credits."""

from __future__ import annotations

import math

from codemend.records import SpeedMeasurement

SPEEDUP_CAP = 4.0
OPT_THRESHOLD = 1.1
"""PIE's %Opt: correct and at least this much faster (here: significantly so)."""


def speed_reward(correct: bool, speedup: float, cap: float = SPEEDUP_CAP) -> float:
    """0 unless correct; then 0.5 at the baseline's speed, rising to 1 at ``cap`` times faster
    and falling to 0 at ``cap`` times slower (log scale, clipped)."""
    if not correct or not speedup > 0:
        return 0.0
    scaled = math.log(speedup) / math.log(cap)
    return round(0.5 + 0.5 * max(-1.0, min(1.0, scaled)), 6)


def credited(measurement: SpeedMeasurement | None, correct: bool) -> float:
    """The speedup a benchmark counts (PIE): incorrect or unmeasured 1.0, else significant
    speedups and slowdowns as measured, the rest 1.0."""
    if not correct or measurement is None or measurement.verdict == "incorrect":
        return 1.0
    return measurement.credited_speedup


def optimised(measurement: SpeedMeasurement | None, correct: bool) -> bool:
    """%Opt: correct, significantly faster, by at least ``OPT_THRESHOLD``."""
    return (
        correct
        and measurement is not None
        and measurement.verdict == "faster"
        and (measurement.speedup or 0.0) >= OPT_THRESHOLD
    )


def measured_reward(measurement: SpeedMeasurement | None, correct: bool) -> float:
    """``speed_reward`` of a measured candidate: correct here means its tests and the workload."""
    ok = correct and measurement is not None and measurement.verdict != "incorrect"
    return speed_reward(ok, credited(measurement, ok))
