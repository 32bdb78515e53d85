"""Fixtures for the agents, graph and solve tests; test modules load them with ``pytest_plugins``.

Kept out of ``conftest.py`` (owned by the sandbox work) on purpose.
"""

from __future__ import annotations

import pytest
from repair_helpers import HIDDEN_MARK, ROOT

from codemend.problems import Problem, load_problem


@pytest.fixture
def square() -> Problem:
    """``examples/square.json`` with a hidden test that carries a mark no model may ever see."""
    problem = load_problem(ROOT / "examples" / "square.json")
    hidden = {"code": f"assert square(4) == 16, '{HIDDEN_MARK}'", "visibility": "hidden"}
    data = problem.model_dump()
    data["tests"] = [*data["tests"], hidden]
    return Problem.model_validate(data)
