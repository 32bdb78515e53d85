"""Problems from trainers' dataset rows (the ``ground_truth`` of a codemend ``rl`` export), and
the sandbox environments share when a framework builds them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from codemend.errors import UserError
from codemend.problems import Problem
from codemend.trajectories import from_ground_truth, to_ground_truth
from codemend.trajectories.ground_truth import truth_in


def problem_from_row(row: Mapping[str, Any]) -> Problem:
    """The problem of a row with ``ground_truth`` (or ``reward_spec``/``reward_model`` holding
    one, as SkyRL's ``extras`` and verl's rows do), or with a ``problem``."""
    if isinstance(row.get("problem"), Problem):
        return row["problem"]
    truth = truth_in(row)
    if truth is not None:
        return from_ground_truth(truth)
    raise UserError("no ground_truth in the row: use the rows of a codemend `rl` export")


def ground_truth(problem: Problem) -> str:
    """``problem`` as a row's ``ground_truth`` string, which ``problem_from_row`` reads back."""
    return to_ground_truth(problem)
