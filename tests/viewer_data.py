"""The viewer tests' run plan and helpers (the fixtures are in ``viewer_fixtures``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench_helpers import Answer

from codemend.problems import Problem

# HumanEval/0 passes its visible tests, not the hidden ones; /1 never passes; /2 is fixed by its
# first repair; /3 passes at once; /4's endpoint fails (an infrastructure error).
PLAN: dict[str, list[Answer]] = {
    "HumanEval/0": ["visible_only"],
    "HumanEval/1": ["wrong", "wrong"],
    "HumanEval/2": ["wrong", "right"],
    "HumanEval/3": ["right"],
    "HumanEval/4": ["error"],
}


@dataclass(frozen=True)
class ViewerRun:
    run_dir: Path
    problems: list[Problem]


def hidden_only_lines(problem: Problem) -> list[str]:
    """Lines of the hidden tests that appear neither in the prompt nor in a visible test: text
    the model can only have seen if hidden tests leaked."""
    shown = problem.prompt + "\n".join(t.code for t in problem.visible_tests())  # type: ignore[union-attr]
    lines = {line.strip() for t in problem.hidden_tests() for line in t.code.splitlines()}  # type: ignore[union-attr]
    return sorted(line for line in lines if line and line not in shown)
