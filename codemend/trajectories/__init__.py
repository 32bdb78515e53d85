"""Trajectories: the records of every solve, their store and their exports."""

from codemend.trajectories.records import (
    SCHEMA_VERSION,
    Constraint,
    Critique,
    Message,
    RunRecord,
    StepKind,
    StepRecord,
    StopReason,
    TrajectoryRecord,
    TrajectoryStatus,
)

__all__ = [
    "SCHEMA_VERSION",
    "Constraint",
    "Critique",
    "Message",
    "RunRecord",
    "StepKind",
    "StepRecord",
    "StopReason",
    "TrajectoryRecord",
    "TrajectoryStatus",
]
