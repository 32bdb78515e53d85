"""HumanEval+ and MBPP+ in EvalPlus's JSONL (Liu et al. 2023).

Fields ``task_id``, ``prompt``, ``entry_point``, ``canonical_solution``, ``base_input``,
``plus_input`` and ``atol``. Expected outputs come from the canonical solution, which runs in
the sandbox's harness next to the tests (it is problem data, like the tests), on a copy of each
input. Floats compare with EvalPlus's tolerance (relative 1e-7, absolute ``atol``).
Visible tests: HumanEval+'s docstring examples, MBPP+'s first base input; hidden: every input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from codemend.benchmarks.calls import literal
from codemend.benchmarks.humaneval import docstring_asserts
from codemend.errors import ProblemFileError
from codemend.problems import AssertTest, Problem
from codemend.problems.jsonl import field, iter_jsonl, record_errors

_SETUP = """import copy as _cm_copy
import math as _cm_math


def _cm_match(actual, expected, atol):
    if isinstance(expected, float) or isinstance(actual, float):
        ok = isinstance(actual, (int, float)) and isinstance(expected, (int, float))
        ok = ok and _cm_math.isclose(actual, expected, rel_tol=1e-07, abs_tol=atol)
    elif isinstance(expected, (list, tuple)) and isinstance(actual, (list, tuple)):
        ok = len(actual) == len(expected) and all(_cm_match(a, e, atol) for a, e in zip(actual, expected))
        ok = ok and type(actual) is type(expected)
    else:
        ok = actual == expected
    return ok


_cm_reference_scope = {"__name__": "reference"}
exec(compile(_CM_REFERENCE, "reference.py", "exec"), _cm_reference_scope)
_cm_reference = _cm_reference_scope[_CM_ENTRY]
"""


def _test(entry: str, args: list[Any], atol: float) -> str:
    rendered = literal(args)
    return (
        f"args = {rendered}\n"
        "expected = _cm_reference(*_cm_copy.deepcopy(args))\n"
        f"actual = {entry}(*args)\n"
        f"assert _cm_match(actual, expected, {atol!r}), f'expected {{expected!r}}, got {{actual!r}}'"
    )


def load_evalplus(path: str | Path, flavour: Literal["humaneval+", "mbpp+"]) -> list[Problem]:
    """The problems of a HumanEval+ or MBPP+ JSON Lines file: each base and plus input a hidden test
    against the canonical solution, visible the docstring's examples (HumanEval+) or the first input
    (MBPP+); a malformed record raises ``ProblemFileError``."""
    name = str(path)
    problems = []
    for line, record in iter_jsonl(path):
        with record_errors(name, line):
            task_id = field(record, "task_id", str, name, line)
            prompt = field(record, "prompt", str, name, line)
            entry = field(record, "entry_point", str, name, line)
            canonical = field(record, "canonical_solution", str, name, line)
            inputs = [*field(record, "base_input", list, name, line), *(record.get("plus_input") or [])]
            if not all(isinstance(args, list) for args in inputs):
                raise ProblemFileError(
                    name, "each input must be a list of arguments", line=line, field="plus_input"
                )
            atol = float(record.get("atol") or 0.0)
            reference = prompt + canonical if flavour == "humaneval+" else canonical
            setup = f"_CM_REFERENCE = {reference!r}\n_CM_ENTRY = {entry!r}\n" + _SETUP
            hidden = [AssertTest(code=_test(entry, args, atol), visibility="hidden") for args in inputs]
            if flavour == "humaneval+":
                visible = [AssertTest(code=c) for c in docstring_asserts(prompt, entry)]
            else:
                visible = [AssertTest(code=_test(entry, inputs[0], atol))] if inputs else []
            problems.append(
                Problem(
                    id=task_id,
                    prompt=prompt,
                    entry_point=entry,
                    starter_code=prompt if flavour == "humaneval+" else "",
                    test_setup_code=setup,
                    tests=[*visible, *hidden],
                )
            )
    return problems
