"""The executor: visible tests during repair, hidden ones once at the end."""

from __future__ import annotations

import asyncio

from repair_helpers import RIGHT, asserts_problem

from codemend.agents import make_executor
from codemend.problems import Problem
from codemend.sandbox import LocalSandbox

pytest_plugins = ["repair_fixtures"]


def test_visible_then_hidden(square: Problem, sandbox: LocalSandbox) -> None:
    executor = make_executor(sandbox)
    visible = asyncio.run(executor.visible(square, RIGHT))
    hidden = asyncio.run(executor.hidden(square, RIGHT))
    assert [r.visibility for r in visible.results] == ["visible", "visible"]
    assert hidden is not None and [r.visibility for r in hidden.results] == ["hidden", "hidden"]
    assert visible.passed and hidden.passed


def test_no_hidden_tests_means_no_hidden_run(sandbox: LocalSandbox) -> None:
    problem = asserts_problem("assert f() == 1")
    assert asyncio.run(make_executor(sandbox).hidden(problem, "def f():\n    return 1\n")) is None
