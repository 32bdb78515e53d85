"""Trajectories: the records of every solve, their store and their exports."""

from codemend.records import (
    SCHEMA_VERSION,
    Constraint,
    Critique,
    Message,
    Outcome,
    RunRecord,
    StepKind,
    StepRecord,
    StopReason,
    TrajectoryRecord,
    TrajectoryStatus,
)
from codemend.trajectories.aio import AsyncTrajectoryStore
from codemend.trajectories.export import (
    FORMATS,
    ExportOptions,
    ExportResult,
    export_trajectories,
    from_raw_row,
)
from codemend.trajectories.ground_truth import from_ground_truth, to_ground_truth
from codemend.trajectories.store import DEFAULT_STORE_PATH, TrajectoryStore, trajectory_id_for

__all__ = [
    "DEFAULT_STORE_PATH",
    "FORMATS",
    "SCHEMA_VERSION",
    "AsyncTrajectoryStore",
    "Constraint",
    "Critique",
    "ExportOptions",
    "ExportResult",
    "Message",
    "Outcome",
    "RunRecord",
    "StepKind",
    "StepRecord",
    "StopReason",
    "TrajectoryRecord",
    "TrajectoryStatus",
    "TrajectoryStore",
    "export_trajectories",
    "from_ground_truth",
    "from_raw_row",
    "to_ground_truth",
    "trajectory_id_for",
]
