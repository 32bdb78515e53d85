"""MBPP in its original JSONL format (Austin et al. 2021).

Fields ``text``, ``code``, ``task_id``, ``test_setup_code``, ``test_list``,
``challenge_test_list``. Standard splits by task id; the visible test is the first of
``test_list`` (the MBPP prompt convention), the hidden tests are all of ``test_list``.
``challenge_test_list`` is not used (the standard evaluation does not use it either). The split a
task belongs to is kept as the problem's metadata (``split``).
"""

from __future__ import annotations

import ast
from pathlib import Path

from codemend.errors import ProblemFileError, UserError
from codemend.problems import AssertTest, Problem
from codemend.problems.jsonl import field, iter_jsonl, record_errors

SPLITS = {
    "prompt": range(1, 11),
    "test": range(11, 511),
    "validation": range(511, 601),
    "train": range(601, 975),
}


def _entry_point(code: str, tests: list[str]) -> str | None:
    """The solution's top-level function that the tests call first."""
    try:
        defined = [n.name for n in ast.parse(code).body if isinstance(n, ast.FunctionDef)]
    except (SyntaxError, RecursionError, MemoryError):  # the last two: pathologically nested
        defined = []
    for test in tests:
        try:
            calls = [
                n.func.id
                for n in ast.walk(ast.parse(test))
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
            ]
        except (SyntaxError, RecursionError, MemoryError):
            continue
        for name in calls:
            if name in defined or (not defined and name not in dir(__builtins__)):
                return name
    return defined[0] if defined else None


def load_mbpp(path: str | Path, split: str = "test") -> list[Problem]:
    """The problems of ``split`` (``prompt``, ``test``, ``validation``, ``train`` or ``all``)."""
    if split != "all" and split not in SPLITS:
        raise UserError(f"unknown MBPP split {split!r}: choose one of {', '.join([*SPLITS, 'all'])}")
    name = str(path)
    problems = []
    for line, record in iter_jsonl(path):
        with record_errors(name, line):
            task_id = field(record, "task_id", int, name, line)
            home = next((s for s, ids in SPLITS.items() if task_id in ids), None)
            if split != "all" and task_id not in SPLITS[split]:
                continue
            text = field(record, "text", str, name, line)
            code = field(record, "code", str, name, line)
            tests = field(record, "test_list", list, name, line)
            if not tests or not all(isinstance(t, str) for t in tests):
                raise ProblemFileError(
                    name, "expected a non-empty list of assert strings", line=line, field="test_list"
                )
            setup = record.get("test_setup_code") or ""
            entry = _entry_point(code, tests)
            if entry is None:
                raise ProblemFileError(name, "no function that the tests call", line=line, field="code")
            prompt = f"{text}\nYour code should pass this test:\n\n{tests[0]}\n"
            problems.append(
                Problem(
                    id=f"mbpp/{task_id}",
                    prompt=prompt,
                    entry_point=entry,
                    test_setup_code=setup,
                    tests=[
                        AssertTest(code=tests[0], visibility="visible"),
                        *(AssertTest(code=t, visibility="hidden") for t in tests),
                    ],
                    metadata={"split": home} if home else {},
                )
            )
    return problems
