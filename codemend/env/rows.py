"""Problems from trainers' dataset rows (the ``ground_truth`` of a codemend ``rl`` export), and
the sandbox environments share when a framework builds them."""

from __future__ import annotations

import atexit
import threading
from collections.abc import Mapping
from typing import Any

from codemend.errors import UserError
from codemend.problems import Problem
from codemend.sandbox import LocalSandbox, Sandbox
from codemend.sandbox.budget import given_cpus
from codemend.trajectories import from_ground_truth, to_ground_truth


def problem_from_row(row: Mapping[str, Any]) -> Problem:
    """The problem of a row with ``ground_truth`` (or ``reward_spec``/``reward_model`` holding
    one, as SkyRL's ``extras`` and verl's rows do), or with a ``problem``."""
    if isinstance(row.get("problem"), Problem):
        return row["problem"]
    for key in ("reward_spec", "reward_model"):
        nested = row.get(key)
        if isinstance(nested, Mapping) and nested.get("ground_truth") is not None:
            return from_ground_truth(str(nested["ground_truth"]))
    if row.get("ground_truth") is not None:
        return from_ground_truth(str(row["ground_truth"]))
    raise UserError("no ground_truth in the row: use the rows of a codemend `rl` export")


def ground_truth(problem: Problem) -> str:
    return to_ground_truth(problem)


_sandbox_lock = threading.Lock()
_sandbox: Sandbox | None = None


def shared_sandbox() -> Sandbox:
    """The sandbox of environments a framework creates with no sandbox given: one
    ``LocalSandbox`` for the process, started on first use and closed at exit, with as many
    workers as the process is given CPUs (``codemend.sandbox.budget``)."""
    global _sandbox
    with _sandbox_lock:
        if _sandbox is None:
            _sandbox = LocalSandbox(workers=given_cpus())
            atexit.register(_sandbox.close)
        return _sandbox
