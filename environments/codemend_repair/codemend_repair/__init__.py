"""codemend's repair loop as a verifiers environment (``vf-eval codemend-repair``).

verifiers resolves the taskset id ``codemend-repair`` to this package and takes from ``__all__``
its ``Taskset`` (the tasks), its ``Env`` (how one task becomes an episode) and its ``Harness``
(the taskset's default: a chat call per turn, no tools, no code run). ``load_environment`` is
the hub-style entry: keyword arguments in, the ``Env`` out.
"""

from codemend_repair.env import RepairEnvConfig, VerifiersRepairEnv, load_environment
from codemend_repair.harness import RepairChat, RepairChatConfig
from codemend_repair.taskset import RepairData, RepairTask, RepairTaskset, RepairTasksetConfig

__all__ = [
    "RepairChat",
    "RepairChatConfig",
    "RepairData",
    "RepairEnvConfig",
    "RepairTask",
    "RepairTaskset",
    "RepairTasksetConfig",
    "VerifiersRepairEnv",
    "load_environment",
]
