"""Constants and helpers for the agents, graph and solve tests (fixtures: ``repair_fixtures``)."""

from __future__ import annotations

import json
from pathlib import Path

from scripted_server import Received, Reply, ok

from codemend.problems import Problem

ROOT = Path(__file__).resolve().parent.parent
HIDDEN_MARK = "HIDDEN_SENTINEL_7431"

RIGHT = "def square(x):\n    return x * x\n"
WRONG = "def square(x):\n    return -x * x\n"
CRASH = "def square(x):\n    return x / 0\n"


def fenced(code: str, **kwargs: object) -> Reply:
    """A model reply holding ``code`` in a python block, with some prose around it."""
    return ok(f"Here is the solution:\n```python\n{code}```\nIt works.", **kwargs)  # type: ignore[arg-type]


def sent_text(requests: list[Received]) -> str:
    """Everything that was sent to a model, as one string."""
    return "\n".join(json.dumps(r.body) for r in requests)


def asserts_problem(*asserts: str, entry_point: str = "f", time_limit_s: float = 2.0) -> Problem:
    """A problem whose visible tests are ``asserts``."""
    tests = [{"kind": "assert", "code": code} for code in asserts]
    data = {"id": "t", "prompt": "", "entry_point": entry_point, "time_limit_s": time_limit_s, "tests": tests}
    return Problem.model_validate(data)
