"""The ``ground_truth`` string of the ``rl`` export: a problem's tests as JSON, and back.

The string is the problem itself (``Problem.model_dump``) plus a ``format`` tag, so every kind
of test round-trips: assertion tests with their entry point and setup code, I/O tests with
stdin and expected stdout, time and memory limits. It is a reward-model field, never a prompt.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from codemend.errors import UserError
from codemend.problems import Problem

GROUND_TRUTH_FORMAT = "codemend-tests/1"


def to_ground_truth(problem: Problem) -> str:
    """All of ``problem``'s tests (visible and hidden) and what is needed to run them."""
    data = {"format": GROUND_TRUTH_FORMAT, **problem.model_dump(mode="json")}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def from_ground_truth(ground_truth: str) -> Problem:
    """The problem a ``ground_truth`` string describes; a ``UserError`` names what is wrong."""
    try:
        data = json.loads(ground_truth)
    except (TypeError, ValueError) as exc:
        raise UserError(
            f"ground_truth is not JSON ({exc}); it should come from a codemend `rl` export"
        ) from None
    if not isinstance(data, dict) or data.get("format") != GROUND_TRUTH_FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise UserError(f"ground_truth format is {found!r}, expected {GROUND_TRUTH_FORMAT!r}")
    data.pop("format")
    try:
        return Problem.model_validate(data)
    except ValidationError as exc:
        raise UserError(f"ground_truth does not describe a problem: {exc}") from None


TRUTH_COLUMNS = ("ground_truth", "reward_model", "reward_spec")
"""Where trainers' rows carry the ground truth: top-level (TRL, OpenRLHF), in ``reward_model``
(verl), in ``reward_spec`` (SkyRL). A codemend ``rl`` row has all three, holding the same string."""


def truth_in(row: Mapping[str, Any]) -> str | None:
    """The ground truth string a row carries (the first of ``TRUTH_COLUMNS`` that holds one), or
    None: the one reader of those columns, for the rewards and the environments alike."""
    for column in TRUTH_COLUMNS:
        value = row.get(column)
        if column != "ground_truth" and isinstance(value, Mapping):
            value = value.get("ground_truth")
        if isinstance(value, str):
            return value
    return None
