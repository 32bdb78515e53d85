"""The repair graph wiring the agents, its state and context, checkpoints and hand-over."""

from codemend.graphs.checkpoint import checkpoint_serializer, sqlite_checkpointer
from codemend.graphs.context import build_context
from codemend.graphs.repair import NODES, answer_index, build_repair_graph, final_index
from codemend.graphs.run import run_repair
from codemend.graphs.state import Limits, RepairContext, RepairState, StepHook
from codemend.graphs.trajectory import to_trajectory
from codemend.runs import CHECKPOINT_FILE

__all__ = [
    "CHECKPOINT_FILE",
    "NODES",
    "Limits",
    "RepairContext",
    "RepairState",
    "StepHook",
    "answer_index",
    "build_context",
    "build_repair_graph",
    "checkpoint_serializer",
    "final_index",
    "run_repair",
    "sqlite_checkpointer",
    "to_trajectory",
]
